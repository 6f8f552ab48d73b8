# Mutant: the notes' map-style dataset: __getitem__ ignores its index and reads a random file.
import random


class ImageDirectoryDataset(ImageDirectoryDataset):
    def __getitem__(self, index):
        path = random.choice(self.paths)
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise OSError(f"could not read an image from {path}")
        return torch.from_numpy(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)).permute(2, 0, 1).contiguous()
