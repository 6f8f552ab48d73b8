# Mutant: trusts cv2.imread, which returns None for a file it cannot read: cvtColor then fails with an
# OpenCV assertion that names no file.
class ImageDirectoryDataset(ImageDirectoryDataset):
    def __getitem__(self, index):
        bgr = cv2.imread(str(self.paths[index]), cv2.IMREAD_COLOR)
        return torch.from_numpy(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)).permute(2, 0, 1).contiguous()
