# Mutant: the shuffle is seeded with `seed` only, so every epoch repeats the same order.
class TarImageDataset(TarImageDataset):
    def set_epoch(self, epoch):
        self.epoch = 0
