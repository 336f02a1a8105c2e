// Shared declarations for every lagvk kernel. Kernels receive tensors as buffer device addresses in
// their push constants (no maxStorageBufferRange limit; the weight kernels' BOUND_WEIGHTS variants read
// tensors that fit through descriptors instead, see weights.glsl) and read fp16 data through 16-bit
// storage only: all arithmetic happens in fp32.
#extension GL_EXT_buffer_reference : require
#extension GL_EXT_buffer_reference2 : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_int32 : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

layout(buffer_reference, std430, buffer_reference_align = 4) buffer F32Ptr { float v[]; };
layout(buffer_reference, std430, buffer_reference_align = 16) buffer Vec4Ptr { vec4 v[]; };
layout(buffer_reference, std430, buffer_reference_align = 2) buffer F16Ptr { float16_t v[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) buffer F16x2Ptr { f16vec2 v[]; };
layout(buffer_reference, std430, buffer_reference_align = 8) buffer F16x4Ptr { f16vec4 v[]; };
layout(buffer_reference, std430, buffer_reference_align = 2) buffer U16Ptr { uint16_t v[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) buffer I32Ptr { int v[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) buffer U32Ptr { uint v[]; };

// Workgroups of a 1-D problem are laid out over x and y (x is limited to maxComputeWorkGroupCount[0],
// often 65535), so the flat group index is rebuilt here.
uint flat_group_id() { return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; }

// tanh(u) written through exp of a non-positive argument, so that large |u| neither overflows nor loses
// the sign (GELU's approximation and logit soft-capping both need it exact to the last bits near +-1).
float stable_tanh(float u) {
  const float e = exp(-2.0 * abs(u));
  return sign(u) * (1.0 - e) / (1.0 + e);
}

// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): the GELU approximation llama.cpp's ggml_gelu uses.
float gelu_tanh(float x) { return 0.5 * x * (1.0 + stable_tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))); }

// x sigmoid(x): SwiGLU's gate activation.
float silu(float x) { return x / (1.0 + exp(-x)); }
