"""Data the course provides (not exercises): generated images and the tar shards lesson 6 streams."""

from grader.data.shards import sample_images, write_image_dir, write_shards

__all__ = ["sample_images", "write_image_dir", "write_shards"]
