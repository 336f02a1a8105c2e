# The shader variants compiled into lagvk: lagvk_shader(<variant name> <source> [DEFINES ...]).
