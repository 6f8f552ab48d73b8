# Mutant: reads the whole shard into memory, then parses it from a BytesIO.
import io


class TarImageDataset(TarImageDataset):
    def _members(self, path, first, stride):
        with open(path, "rb") as f:
            data = f.read()
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            members = [m for m in tar.getmembers() if m.isfile()]
            for index, member in enumerate(members):
                if index % stride == first:
                    raw = tar.extractfile(member).read()
                    yield os.path.splitext(member.name)[0], decode_rgb(raw, f"{path}: member {member.name}")
