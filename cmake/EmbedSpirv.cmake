# Turns one SPIR-V file into a C++ source defining a std::span over its words.
# Invoked as: cmake -DSPV=in.spv -DOUT=out.cpp -DSYMBOL=name -P EmbedSpirv.cmake
file(READ "${SPV}" bytes HEX)
string(LENGTH "${bytes}" hex_len)
math(EXPR word_count "${hex_len} / 8")
# SPIR-V is little-endian 32-bit words; reassemble each word from its four bytes.
string(REGEX REPLACE "(..)(..)(..)(..)" "0x\\4\\3\\2\\1u," words "${bytes}")
file(WRITE "${OUT}" "// Generated from ${SPV}; do not edit.\n#include <cstdint>\n#include <span>\nnamespace lagvk::spirv {\nstatic const std::uint32_t ${SYMBOL}_words[${word_count}] = {${words}};\nextern const std::span<const std::uint32_t> ${SYMBOL}(${SYMBOL}_words);\n}  // namespace lagvk::spirv\n")
