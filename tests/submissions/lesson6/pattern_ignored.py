# Mutant: ignores `pattern` and reads every file of the folder.
class ImageDirectoryDataset(ImageDirectoryDataset):
    def __init__(self, root, pattern="*.png"):
        self.paths = sorted(p for p in Path(root).iterdir() if p.is_file())
