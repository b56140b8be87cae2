#!/bin/sh
# Fails (exit 1) unless onnxruntime-node's CUDA execution provider is installed in the directory
# given and every shared library it needs resolves here. Run by the Dockerfile's gpu stage, so an
# image without a working CUDA provider is never built (at run time onnxruntime would otherwise
# fall back to the CPU, or fail to create the session, only on the GPU host).
#
#   check-cuda-provider.sh <onnxruntime-node bin dir, e.g. node_modules/onnxruntime-node/bin/napi-v6/linux/x64>
#
# libcuda.so.1 is the NVIDIA driver's, mounted into the container at run time by the NVIDIA
# container toolkit; it may be missing at build time. Everything else (CUDA runtime, cuBLAS, cuDNN,
# cuFFT, cuRAND, onnxruntime's own libraries) must be in the image.
set -u
dir="${1:?usage: check-cuda-provider.sh <onnxruntime-node binary directory>}"
status=0
for lib in libonnxruntime_providers_cuda.so libonnxruntime_providers_shared.so; do
  if [ ! -f "$dir/$lib" ]; then
    echo "check-cuda-provider: expected $dir/$lib but it is missing (was the CUDA provider download skipped? ONNXRUNTIME_NODE_INSTALL)" >&2
    status=1
    continue
  fi
  # onnxruntime loads the providers from its own directory, so that directory is on the path here too.
  if ! linked=$(LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ldd "$dir/$lib" 2>&1); then
    echo "check-cuda-provider: expected $lib to be a shared library ldd can read but ldd said:" >&2
    echo "$linked" >&2
    status=1
    continue
  fi
  missing=$(echo "$linked" | grep 'not found' | grep -v '^[[:space:]]*libcuda\.so\.1 ')
  if [ -n "$missing" ]; then
    echo "check-cuda-provider: $lib needs libraries this image does not have:" >&2
    echo "$missing" >&2
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "check-cuda-provider: the CUDA execution provider's libraries all resolve"
exit "$status"
