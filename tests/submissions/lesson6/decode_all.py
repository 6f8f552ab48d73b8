# Mutant: every worker streams and decodes every member (in the shuffled shard order), then keeps only its
# share: the keys are right, but 2 workers do twice the work of one.
class TarImageDataset(TarImageDataset):
    def __iter__(self):
        slot, slots = _slot()
        index = 0
        for path, _, _ in self._plan(0, 1):
            for item in self._members(path, 0, 1):
                if index % slots == slot:
                    yield item
                index += 1
