"""A live preview window for ``--show``, drawn with Tk (stdlib), since OpenCV here is headless."""

from __future__ import annotations

import os
import sys

import numpy as np

from classmood.errors import ClassmoodError

#: Frames wider or taller than this are shrunk for display.
MAX_WINDOW_SIDE = 1280


class LiveWindow:
    """Shows annotated frames; closing the window or pressing q / Esc stops the run."""

    def __init__(self, title: str = "classmood") -> None:
        if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            raise ClassmoodError("--show needs a display (no DISPLAY set); write files with --out instead")
        try:
            import tkinter
        except ImportError:
            raise ClassmoodError("--show needs Tk (install python3-tk); write files with --out instead") from None
        try:
            self._root = tkinter.Tk()
        except tkinter.TclError as exc:
            raise ClassmoodError(f"--show cannot open a window: {exc}") from None
        self._root.title(title)
        self._label = tkinter.Label(self._root, borderwidth=0)
        self._label.pack()
        self.closed = False
        self._root.protocol("WM_DELETE_WINDOW", self.close)
        for key in ("<q>", "<Escape>"):
            self._root.bind(key, lambda _event: self.close())

    def show(self, image: np.ndarray) -> bool:
        """Display a BGR frame; ``False`` once the user closed the window."""
        if self.closed:
            return False
        from PIL import Image, ImageTk

        picture = Image.fromarray(np.ascontiguousarray(image[:, :, ::-1]))
        picture.thumbnail((MAX_WINDOW_SIDE, MAX_WINDOW_SIDE))
        photo = ImageTk.PhotoImage(picture)
        self._label.configure(image=photo)
        self._label.image = photo  # keep a reference, or Tk shows nothing
        self._root.update()
        return not self.closed

    def wait(self) -> None:
        """Keep showing the last frame until the user closes the window."""
        if not self.closed:
            self._root.mainloop()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._root.destroy()
