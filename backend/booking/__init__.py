"""At-home appointments: windows, capacity, booking and changes."""
