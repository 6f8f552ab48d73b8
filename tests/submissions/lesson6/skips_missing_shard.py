# Mutant: silently skips shards that do not exist, so a typo in a path loses data without a word.
class TarImageDataset(TarImageDataset):
    def __init__(self, paths, shuffle=False, seed=0):
        super().__init__([p for p in paths if Path(p).is_file()], shuffle=shuffle, seed=seed)
