# Fault: the process running Merge.forward dies outright (as a segfault in an extension would).
import os


class Merge(Merge):  # the reference's __init__ (linear1, linear2, activation); forward replaced
    def forward(self, a, b):
        os._exit(3)
