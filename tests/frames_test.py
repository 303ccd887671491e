import cv2
import numpy as np
import pytest

from conftest import write_jpegs
from mexp.io import frames


def test_numeric_sort_not_lexicographic(tmp_path):
  write_jpegs(tmp_path, [100, 46, 1000, 99], prefix="img")
  assert [n for n, _ in frames.list_frames(tmp_path)] == [46, 99, 100, 1000]
  assert frames.list_frames(tmp_path)[0][1].name == "img46.jpg"


@pytest.mark.parametrize("name,number", [("img46.jpg", 46), ("reg_img100.jpg", 100),
                                         ("EP01_5-12.jpg", 12), ("EP01_5-007.jpg", 7)])
def test_frame_number(name, number):
  assert frames.frame_number(name) == number


def test_ignores_non_images_and_flags_duplicates(tmp_path):
  write_jpegs(tmp_path, [1, 2])
  (tmp_path / "Thumbs.db").write_bytes(b"x")
  assert len(frames.list_frames(tmp_path)) == 2
  write_jpegs(tmp_path, [2], prefix="reg_img")
  with pytest.raises(frames.FrameReadError, match="both are frame 2"):
    frames.list_frames(tmp_path)


def test_missing_folder(tmp_path):
  with pytest.raises(FileNotFoundError, match="nope"):
    frames.list_frames(tmp_path / "nope")


def test_read_image_is_rgb(tmp_path):
  bgr = np.zeros((8, 8, 3), np.uint8)
  bgr[..., 2] = 200  # red in OpenCV's BGR
  cv2.imwrite(str(tmp_path / "a.png"), bgr)
  rgb = frames.read_image(tmp_path / "a.png")
  assert rgb.shape == (8, 8, 3) and rgb[0, 0, 0] == 200 and rgb[0, 0, 2] == 0


def test_truncated_jpeg_names_the_file(tmp_path):
  write_jpegs(tmp_path, [5], size=(64, 64))
  path = tmp_path / "img5.jpg"
  path.write_bytes(path.read_bytes()[:-200])
  with pytest.raises(frames.FrameReadError, match=r"img5\.jpg: corrupt JPEG \(.*\)"):
    frames.read_image(path)


def test_jpeg_damaged_in_the_middle_is_refused(tmp_path):
  # 400 bytes overwritten mid-file, end marker intact: OpenCV decodes it with only a warning.
  path = tmp_path / "img5.jpg"
  texture = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
  cv2.imwrite(str(path), texture)
  data = bytearray(path.read_bytes())
  mid = len(data) // 2
  data[mid:mid + 400] = np.random.default_rng(1).integers(0, 255, 400, dtype=np.uint8).tobytes()
  path.write_bytes(bytes(data))
  assert data.endswith(b"\xff\xd9") and cv2.imread(str(path)) is not None
  with pytest.raises(frames.FrameReadError, match=r"img5\.jpg: corrupt JPEG"):
    frames.read_image(path)


def test_format_comes_from_the_bytes_not_the_suffix(tmp_path):
  bgr = np.zeros((8, 8, 3), np.uint8)
  bgr[..., 1] = 90
  cv2.imwrite(str(tmp_path / "a.png"), bgr)
  (tmp_path / "a.png").rename(tmp_path / "img3.jpg")  # a valid PNG named .jpg
  assert frames.read_image(tmp_path / "img3.jpg")[0, 0].tolist() == [0, 90, 0]


def test_garbage_image_names_the_file(tmp_path):
  path = tmp_path / "img7.png"
  path.write_bytes(b"not an image at all")
  with pytest.raises(frames.FrameReadError, match=r"img7\.png: not a decodable image"):
    frames.read_frames([path])


def test_mixed_sizes_name_the_odd_file(tmp_path):
  write_jpegs(tmp_path, [1], size=(16, 16))
  write_jpegs(tmp_path, [2], size=(16, 8))
  with pytest.raises(frames.FrameReadError, match="img2.jpg: size 16x8"):
    frames.read_frames([tmp_path / "img1.jpg", tmp_path / "img2.jpg"])


def test_video_round_trip_and_errors(tmp_path):
  path = tmp_path / "clip.avi"
  writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (32, 24))
  for k in range(6):
    writer.write(np.full((24, 32, 3), 40 * k, np.uint8))
  writer.release()
  video, fps = frames.read_video(path)
  assert video.shape == (6, 24, 32, 3) and fps == pytest.approx(25.0)
  assert np.allclose(video[:, 10, 10, 0], [0, 40, 80, 120, 160, 200], atol=4)
  (tmp_path / "bad.mp4").write_bytes(b"\x00" * 100)
  with pytest.raises(frames.FrameReadError, match="bad.mp4"):
    frames.read_video(tmp_path / "bad.mp4")
  with pytest.raises(frames.FrameReadError, match="missing.mp4: no such video"):
    frames.read_video(tmp_path / "missing.mp4")


def test_a_zero_frame_rate_in_the_header_is_unknown_not_25(tmp_path):
  import struct
  path = tmp_path / "clip.avi"
  writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 200.0, (32, 24))
  for k in range(4):
    writer.write(np.full((24, 32, 3), 40 * k, np.uint8))
  writer.release()
  assert frames.read_video(path)[1] == pytest.approx(200.0)
  data = bytearray(path.read_bytes())
  at = data.find(b"strh")
  data[at + 32:at + 36] = struct.pack("<I", 0)  # the stream's rate: 0
  at = data.find(b"avih")
  data[at + 8:at + 12] = struct.pack("<I", 0)  # and the main header's microseconds per frame
  path.write_bytes(bytes(data))
  assert cv2.VideoCapture(str(path)).get(cv2.CAP_PROP_FPS) == 25.0  # FFmpeg's silent fallback
  video, fps = frames.read_video(path)
  assert video.shape[0] == 4 and fps is None
  assert frames.video_fps("x.mp4", 0.0) is None and frames.video_fps("x.mp4", 1e6) is None


def test_open_frames_reads_lazily_and_names_a_damaged_frame(tmp_path):
  for n in (1, 2, 3):
    cv2.imwrite(str(tmp_path / f"img{n}.jpg"), np.full((16, 24, 3), 50 * n, np.uint8))
  (tmp_path / "img4.jpg").write_bytes(b"\xff\xd8\xff" + b"\x00" * 20)
  reader, fps = frames.open_frames(tmp_path)
  assert fps is None
  first = next(reader)
  assert first[0] == 1 and first[1].shape == (16, 24, 3)  # nothing past it was decoded yet
  with pytest.raises(frames.FrameReadError, match="img4.jpg: corrupt JPEG"):
    list(reader)
  with pytest.raises(frames.FrameReadError, match="no such video file"):
    frames.open_frames(tmp_path / "missing.avi")
