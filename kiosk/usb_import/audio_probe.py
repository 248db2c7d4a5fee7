"""Is this file really audio? Decided from its bytes and a full tag/stream parse, never its name."""

from __future__ import annotations

from pathlib import Path

HEAD_BYTES = 64


def _id3_size(head: bytes) -> int:
    """Length of a leading ID3v2 tag (header + body + footer), 0 when there is none."""
    if len(head) < 10 or head[:3] != b"ID3" or any(b & 0x80 for b in head[6:10]):
        return 0
    body = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
    footer = 10 if head[5] & 0x10 else 0
    return 10 + body + footer


def sniff(head: bytes) -> str | None:
    """Container/codec from the first bytes: mp3, aac, ogg, flac, wav, mp4, or None."""
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[4:8] == b"ftyp":
        return "mp4"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        layer = (head[1] >> 1) & 0x3
        # ADTS (raw AAC) shares the 12-bit sync with MPEG audio but has layer bits 00.
        if head[1] & 0xF0 == 0xF0 and layer == 0:
            return "aac"
        if layer != 0 and (head[1] >> 3) & 0x3 != 1:
            return "mp3"
    return None


def sniff_file(path: Path) -> str | None:
    """Like ``sniff`` but looks past a leading ID3v2 tag (MP3, and some AAC/FLAC files)."""
    with open(path, "rb") as f:
        head = f.read(HEAD_BYTES)
        skip = _id3_size(head)
        if skip:
            f.seek(skip)
            after = f.read(HEAD_BYTES)
            kind = sniff(after)
            # An ID3 tag followed by frames mutagen can read is an MP3 even when padding
            # hides the first sync word; mutagen has the final say below.
            return kind or "mp3"
    return sniff(head)


def probe(path: Path) -> tuple[str | None, str]:
    """``(format, "")`` when the file is playable audio, else ``(None, reason)``."""
    try:
        kind = sniff_file(path)
    except OSError as exc:
        return None, f"unreadable: {exc.strerror or exc}"
    if kind is None:
        return None, "not an audio file (content is not MP3, AAC, Ogg, FLAC, WAV or MP4)"
    try:
        audio = _parse(kind, path)
    except Exception as exc:  # mutagen raises many types on damaged files
        return None, f"damaged {kind} file: {type(exc).__name__}: {exc}"
    if audio is None:
        return None, f"damaged {kind} file: no audio stream found"
    length = getattr(getattr(audio, "info", None), "length", None)
    if length is not None and not length > 0:
        return None, f"{kind} file holds no audio (length 0)"
    if kind == "wav":
        why = _wav_truncated(path)
        if why:
            return None, why
    return kind, ""


def _wav_truncated(path: Path) -> str:
    """mutagen trusts the WAV header; compare the data chunk with the bytes really there."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        f.seek(12)
        while True:
            hdr = f.read(8)
            if len(hdr) < 8:
                return "damaged wav file: no data chunk"
            cid, n = hdr[:4], int.from_bytes(hdr[4:], "little")
            if cid == b"data":
                there = size - f.tell()
                if there <= 0:
                    return "wav file holds no audio (empty data chunk)"
                # Streaming writers leave 0 or 0xFFFFFFFF when they cannot seek back.
                if n not in (0, 0xFFFFFFFF) and there < n:
                    return f"truncated wav file ({there} of {n} audio bytes)"
                return ""
            f.seek(n + (n & 1), 1)


def _parse(kind: str, path: Path):
    import mutagen

    if kind == "mp3":
        from mutagen.mp3 import MP3

        return MP3(path)
    if kind == "aac":
        from mutagen.aac import AAC

        return AAC(path)
    if kind == "flac":
        from mutagen.flac import FLAC

        return FLAC(path)
    if kind == "wav":
        from mutagen.wave import WAVE

        return WAVE(path)
    if kind == "mp4":
        from mutagen.mp4 import MP4

        return MP4(path)
    # Ogg holds Vorbis, Opus, FLAC or Speex; let mutagen pick among the Ogg kinds only.
    from mutagen.oggflac import OggFLAC
    from mutagen.oggopus import OggOpus
    from mutagen.oggspeex import OggSpeex
    from mutagen.oggvorbis import OggVorbis

    return mutagen.File(path, options=[OggVorbis, OggOpus, OggFLAC, OggSpeex])
