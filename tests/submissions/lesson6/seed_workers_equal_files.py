# Mutant: the notes' sharding: worker i reads file i, which only works when num_workers == number of shards
# (and crashes with num_workers=0, when get_worker_info() is None).
class TarImageDataset(IterableDataset):
    def __init__(self, paths, shuffle=False, seed=0):
        super().__init__()
        self.paths = [Path(p) for p in paths]
        self.shuffle, self.seed, self.epoch = shuffle, seed, 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __iter__(self):
        info = get_worker_info()
        assert info.num_workers == len(self.paths), "need one worker per shard"
        path = self.paths[info.id]
        with tarfile.open(path, mode="r|") as tar:
            for member in tar:
                data = tar.extractfile(member).read()
                yield os.path.splitext(member.name)[0], decode_rgb(data, f"{path}: {member.name}")
