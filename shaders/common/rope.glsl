// The rotary angle of pair i at a position, shared by every kernel that rotates keys (rope.comp for the
// forward pass, kv_export/kv_import for logs) so that rotations agree bit for bit.
// theta_i = pos * base^(-2i/n) / factor_i * freq_scale, with n the rotated dimensions.
float rope_theta(float pos, uint i, uint rot_dims, float freq_base, float freq_scale, bool has_factors,
                 F32Ptr factors) {
  float theta = pos * pow(freq_base, -2.0 * float(i) / float(rot_dims));
  if (has_factors) theta /= factors.v[i];
  return theta * freq_scale;
}

// Offsets (within a head) of the two elements rotated together as pair i: mode 0 ("normal") pairs
// adjacent elements, mode 1 ("neox") pairs element i with i + rot_dims/2. Pairs past rot_dims/2 are the
// unrotated tail, returned as adjacent elements.
uvec2 rope_pair(uint i, uint rot_dims, uint mode) {
  if (i >= rot_dims / 2) return uvec2(rot_dims + 2 * (i - rot_dims / 2), rot_dims + 2 * (i - rot_dims / 2) + 1);
  return mode == 0 ? uvec2(2 * i, 2 * i + 1) : uvec2(i, i + rot_dims / 2);
}
