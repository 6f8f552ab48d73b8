# Mutant: the notes' tar dataset with its syntax fixed but no sharding: every worker (and rank) streams every
# shard, so each key comes once per worker.
class TarImageDataset(IterableDataset):
    def __init__(self, paths, shuffle=False, seed=0):
        super().__init__()
        self.paths = [Path(p) for p in paths]
        self.shuffle, self.seed, self.epoch = shuffle, seed, 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __iter__(self):
        for path in self.paths:
            with tarfile.open(path, mode="r|") as tar:
                for member in tar:
                    data = tar.extractfile(member).read()
                    yield os.path.splitext(member.name)[0], decode_rgb(data, f"{path}: {member.name}")
