"""Hand each received video frame to the decoder as soon as its last packet is in.

aiortc's jitter buffer (aiortc 1.16, ``aiortc.jitterbuffer``) knows that a frame is complete only
when a packet of the *next* frame arrives, so every frame waited one frame interval on the server:
33 ms at 30 frames/s, 67 ms at 15 (measured by ``benchmarks/app_latency.py`` as most of the time
from the page's camera to the server: 38 and 72 ms). RTP's marker bit closes a video frame (RFC
7741 for VP8, RFC 6184 for H.264): ``MarkerJitterBuffer`` hands on a run of packets of one
timestamp, with no gap, that ends with it at once, and falls back to aiortc's rule otherwise (a
lost marker packet). ``hand_on_complete_frames`` makes aiortc's receivers use it (the module
attribute they look up when a receiver is made; there is no option for it).
"""

from __future__ import annotations

from aiortc.jitterbuffer import JitterBuffer, JitterFrame


class MarkerJitterBuffer(JitterBuffer):
    """aiortc's ``JitterBuffer``, handing on a video frame when its marker packet completes it."""

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        if self._is_video:
            frame = self._frame_closed_by_marker()
            if frame is not None:
                return frame
        return super()._remove_frame(sequence_number)

    def _frame_closed_by_marker(self) -> JitterFrame | None:
        """The oldest frame, removed from the buffer, if all its packets up to the marker are in."""
        packets = []
        for count in range(self.capacity):
            packet = self._packets[(self._origin + count) % self.capacity]
            if packet is None or (packets and packet.timestamp != packets[0].timestamp):
                return None
            packets.append(packet)
            if packet.marker:
                self.remove(count + 1)
                return JitterFrame(data=b"".join(p._data for p in packets), timestamp=packet.timestamp)
        return None


def hand_on_complete_frames() -> None:
    """Make aiortc's RTP receivers use ``MarkerJitterBuffer``."""
    import aiortc.rtcrtpreceiver

    aiortc.rtcrtpreceiver.JitterBuffer = MarkerJitterBuffer
