# Mutant: reads get_worker_info().id without checking for None: crashes with num_workers=0.
def _slot():
    info = get_worker_info()
    if dist.is_available() and dist.is_initialized():
        rank, world = dist.get_rank(), dist.get_world_size()
    else:
        rank, world = 0, 1
    return rank * info.num_workers + info.id, world * info.num_workers
