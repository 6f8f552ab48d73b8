# Mutant: shards split by torch.distributed rank, but not by DataLoader worker: duplicates with workers.
def _slot():
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1
