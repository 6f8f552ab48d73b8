# Mutant: yields the member's full name ("img-00001.png") as its key.
class TarImageDataset(TarImageDataset):
    def __iter__(self):
        for key, image in super().__iter__():
            yield key + ".png", image
