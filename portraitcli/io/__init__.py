"""Image input/output: the only place where pixel formats and channel order change."""

from portraitcli.io.image import (
    IMAGE_EXTENSIONS,
    MAX_PIXELS,
    MIN_SIDE,
    check_distinct,
    read_image,
    write_image,
)

__all__ = ["IMAGE_EXTENSIONS", "MAX_PIXELS", "MIN_SIDE", "check_distinct", "read_image", "write_image"]
