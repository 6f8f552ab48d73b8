# Mutant: skips members that do not decode, so broken data vanishes silently.
class TarImageDataset(TarImageDataset):
    def __iter__(self):
        iterator = super().__iter__()
        while True:
            try:
                yield next(iterator)
            except StopIteration:
                return
            except ValueError:
                continue
