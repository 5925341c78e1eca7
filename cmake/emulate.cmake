# -DHEMO_CUDA=EMULATE: the CUDA backend compiled by the host C++ compiler and run on the CPU by
# hemo's CUDA emulator (core/cuda/emu/, docs/cuda.md). Every .cu file builds unchanged against
# the emulator's cuda_runtime.h; host code takes its CUDA paths (HEMO_WITH_CUDA=1), so the caching
# allocator, device tensors, autograd on the device and `--device cuda` in every command run as
# written. cuBLAS and cuDNN are not emulated: their call sites run the CPU reference
# (kernels/cuda/emu/libraries.cpp stands in for blas.cpp, conv_cudnn.cpp and conv_cudnn_fused.cpp).
# No CUDA toolkit is needed. With -DHEMO_SANITIZE=address the emulated device memory is checked by AddressSanitizer;
# with -DHEMO_SANITIZE=thread every CUDA thread is a ThreadSanitizer fiber (shared-memory races).
set(HEMO_WITH_CUDA ON)
set(HEMO_WITH_CUDNN ON)
set(HEMO_CUDA_EMULATED ON)
message(STATUS "hemo: CUDA backend EMULATED on the CPU (core/cuda/emu; cuDNN/cuBLAS by the CPU reference)")
