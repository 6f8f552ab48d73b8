# Correct, different: every reader streams every shard (one open each) and decodes only the members whose
# global index falls to it; the shuffle permutes the shards and the round-robin offset per (seed, epoch).
class TarImageDataset(IterableDataset):
    def __init__(self, paths, shuffle=False, seed=0):
        super().__init__()
        self.paths = [Path(p) for p in paths]
        self.shuffle, self.seed, self.epoch = shuffle, seed, 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __iter__(self):
        slot, slots = _slot()
        order = list(self.paths)
        if self.shuffle:
            np.random.default_rng((self.seed, self.epoch)).shuffle(order)
        index = 0
        for path in order:
            if not path.exists():
                raise FileNotFoundError(path)
            with tarfile.open(path, mode="r|") as tar:
                for member in tar:
                    if not member.isfile():
                        continue
                    if index % slots == slot:
                        data = tar.extractfile(member).read()
                        yield os.path.splitext(member.name)[0], decode_rgb(data, f"{path} / {member.name}")
                    index += 1
