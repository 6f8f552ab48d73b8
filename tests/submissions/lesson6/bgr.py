# Mutant: OpenCV's BGR order left as is in both datasets.
def decode_rgb(data, what):
    bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"{what}: OpenCV could not decode it as an image")
    return torch.from_numpy(bgr).permute(2, 0, 1).contiguous()


class ImageDirectoryDataset(ImageDirectoryDataset):
    def __getitem__(self, index):
        path = self.paths[index]
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise OSError(f"could not read an image from {path}")
        return torch.from_numpy(bgr).permute(2, 0, 1).contiguous()
