# Mutant: an off-by-one in the split: range(slot, len(paths) - 1, slots) never reads the last shard.
class TarImageDataset(TarImageDataset):
    def __iter__(self):
        slot, slots = _slot()
        for i in range(slot, len(self.paths) - 1, slots):
            yield from self._members(self.paths[i], 0, 1)
