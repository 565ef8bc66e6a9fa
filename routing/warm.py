"""`python -m routing.warm`: compile the ruin-and-recreate kernel into numba's on-disk cache (install step)."""

import time

from routing.sisr import warm_up

if __name__ == "__main__":
    t = time.perf_counter()
    n = warm_up()
    print(f"routing: SISR kernel ready in {time.perf_counter() - t:.1f} s ({n} warm-up iterations)")
