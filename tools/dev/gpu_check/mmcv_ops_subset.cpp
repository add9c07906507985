// GPU-check build of two of mmcv 2.1.0's ops -- multi-scale deformable attention (CUDA) and
// roi_align (CPU and CUDA) -- from mmcv's own sources (mmcv/ops/csrc), bound with the names and
// keyword arguments of mmcv's _ext module. This file plays cudabind.cpp's and pybind.cpp's
// part for these two ops; a full mmcv CUDA build does not fit the device time.
#include <torch/extension.h>

#include "pytorch_cpp_helper.hpp"
#include "pytorch_device_registry.hpp"

Tensor ms_deform_attn_forward(const Tensor &value, const Tensor &spatial_shapes,
                              const Tensor &level_start_index, const Tensor &sampling_loc,
                              const Tensor &attn_weight, const int im2col_step);
void ms_deform_attn_backward(const Tensor &value, const Tensor &spatial_shapes,
                             const Tensor &level_start_index, const Tensor &sampling_loc,
                             const Tensor &attn_weight, const Tensor &grad_output,
                             Tensor &grad_value, Tensor &grad_sampling_loc,
                             Tensor &grad_attn_weight, const int im2col_step);
void roi_align_forward(Tensor input, Tensor rois, Tensor output, Tensor argmax_y,
                       Tensor argmax_x, int aligned_height, int aligned_width,
                       float spatial_scale, int sampling_ratio, int pool_mode, bool aligned);
void roi_align_backward(Tensor grad_output, Tensor rois, Tensor argmax_y, Tensor argmax_x,
                        Tensor grad_input, int aligned_height, int aligned_width,
                        float spatial_scale, int sampling_ratio, int pool_mode, bool aligned);

#ifdef MMCV_WITH_CUDA
Tensor ms_deform_attn_cuda_forward(const Tensor &value, const Tensor &spatial_shapes,
                                   const Tensor &level_start_index, const Tensor &sampling_loc,
                                   const Tensor &attn_weight, const int im2col_step);
void ms_deform_attn_cuda_backward(const Tensor &value, const Tensor &spatial_shapes,
                                  const Tensor &level_start_index, const Tensor &sampling_loc,
                                  const Tensor &attn_weight, const Tensor &grad_output,
                                  Tensor &grad_value, Tensor &grad_sampling_loc,
                                  Tensor &grad_attn_weight, const int im2col_step);
Tensor ms_deform_attn_impl_forward(const Tensor &value, const Tensor &spatial_shapes,
                                   const Tensor &level_start_index, const Tensor &sampling_loc,
                                   const Tensor &attn_weight, const int im2col_step);
void ms_deform_attn_impl_backward(const Tensor &value, const Tensor &spatial_shapes,
                                  const Tensor &level_start_index, const Tensor &sampling_loc,
                                  const Tensor &attn_weight, const Tensor &grad_output,
                                  Tensor &grad_value, Tensor &grad_sampling_loc,
                                  Tensor &grad_attn_weight, const int im2col_step);
REGISTER_DEVICE_IMPL(ms_deform_attn_impl_forward, CUDA, ms_deform_attn_cuda_forward);
REGISTER_DEVICE_IMPL(ms_deform_attn_impl_backward, CUDA, ms_deform_attn_cuda_backward);

void ROIAlignForwardCUDAKernelLauncher(Tensor input, Tensor rois, Tensor output,
                                       Tensor argmax_y, Tensor argmax_x, int aligned_height,
                                       int aligned_width, float spatial_scale,
                                       int sampling_ratio, int pool_mode, bool aligned);
void ROIAlignBackwardCUDAKernelLauncher(Tensor grad_output, Tensor rois, Tensor argmax_y,
                                        Tensor argmax_x, Tensor grad_input, int aligned_height,
                                        int aligned_width, float spatial_scale,
                                        int sampling_ratio, int pool_mode, bool aligned);
void roi_align_forward_impl(Tensor input, Tensor rois, Tensor output, Tensor argmax_y,
                            Tensor argmax_x, int aligned_height, int aligned_width,
                            float spatial_scale, int sampling_ratio, int pool_mode,
                            bool aligned);
void roi_align_backward_impl(Tensor grad_output, Tensor rois, Tensor argmax_y, Tensor argmax_x,
                             Tensor grad_input, int aligned_height, int aligned_width,
                             float spatial_scale, int sampling_ratio, int pool_mode,
                             bool aligned);
REGISTER_DEVICE_IMPL(roi_align_forward_impl, CUDA, ROIAlignForwardCUDAKernelLauncher);
REGISTER_DEVICE_IMPL(roi_align_backward_impl, CUDA, ROIAlignBackwardCUDAKernelLauncher);
#endif

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("ms_deform_attn_forward", &ms_deform_attn_forward, py::arg("value"),
        py::arg("value_spatial_shapes"), py::arg("value_level_start_index"),
        py::arg("sampling_locations"), py::arg("attention_weights"), py::arg("im2col_step"));
  m.def("ms_deform_attn_backward", &ms_deform_attn_backward, py::arg("value"),
        py::arg("value_spatial_shapes"), py::arg("value_level_start_index"),
        py::arg("sampling_locations"), py::arg("attention_weights"), py::arg("grad_output"),
        py::arg("grad_value"), py::arg("grad_sampling_loc"), py::arg("grad_attn_weight"),
        py::arg("im2col_step"));
  m.def("roi_align_forward", &roi_align_forward, py::arg("input"), py::arg("rois"),
        py::arg("output"), py::arg("argmax_y"), py::arg("argmax_x"), py::arg("aligned_height"),
        py::arg("aligned_width"), py::arg("spatial_scale"), py::arg("sampling_ratio"),
        py::arg("pool_mode"), py::arg("aligned"));
  m.def("roi_align_backward", &roi_align_backward, py::arg("grad_output"), py::arg("rois"),
        py::arg("argmax_y"), py::arg("argmax_x"), py::arg("grad_input"),
        py::arg("aligned_height"), py::arg("aligned_width"), py::arg("spatial_scale"),
        py::arg("sampling_ratio"), py::arg("pool_mode"), py::arg("aligned"));
}
