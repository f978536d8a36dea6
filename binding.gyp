{
  "variables": {
    "hafif_blas%": "<!(node scripts/detect-blas.cjs)",
    "hafif_march_native%": "<!(node -p \"process.env.HAFIF_MARCH_NATIVE === '1' ? 1 : 0\")"
  },
  "targets": [
    {
      "target_name": "hafif_native",
      "sources": [
        "native/addon.cc",
        "native/parallel.cc",
        "native/gemm.cc",
        "native/depthwise.cc",
        "native/depthwise_baseline.cc",
        "native/depthwise_avx2.cc",
        "native/depthwise_avx512.cc",
        "native/small_conv.cc",
        "native/small_conv_baseline.cc",
        "native/small_conv_avx2.cc",
        "native/small_conv_avx512.cc",
        "native/pointwise.cc",
        "native/pointwise_baseline.cc",
        "native/pointwise_avx2.cc",
        "native/pointwise_avx512.cc",
        "native/bind_pointwise.cc",
        "native/conv.cc",
        "native/conv_images.cc",
        "native/winograd.cc",
        "native/winograd_baseline.cc",
        "native/winograd_avx2.cc",
        "native/winograd_avx512.cc",
        "native/pool.cc",
        "native/elementwise.cc",
        "native/isa.cc",
        "native/gemm_baseline.cc",
        "native/gemm_avx2.cc",
        "native/gemm_avx512.cc",
        "native/elementwise_baseline.cc",
        "native/elementwise_avx2.cc",
        "native/elementwise_avx512.cc",
        "native/optim_baseline.cc",
        "native/optim_avx2.cc",
        "native/optim_avx512.cc",
        "native/reduce.cc",
        "native/bind_gemm.cc",
        "native/bind_depthwise.cc",
        "native/bind_small_conv.cc",
        "native/bind_conv.cc",
        "native/bind_pool.cc",
        "native/bind_elementwise.cc",
        "native/bind_reduce.cc",
        "native/optim.cc",
        "native/bind_optim.cc",
        "native/batchnorm.cc",
        "native/batchnorm_baseline.cc",
        "native/batchnorm_avx2.cc",
        "native/batchnorm_avx512.cc",
        "native/bind_batchnorm.cc",
        "native/activation_grad.cc",
        "native/bind_activation_grad.cc",
        "native/pool_positions.cc",
        "native/pool_positions_baseline.cc",
        "native/pool_positions_avx2.cc",
        "native/pool_positions_avx512.cc",
        "native/bind_pool_positions.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL"],
      "cflags!": ["-fno-exceptions", "-O2"],
      "cflags_cc!": ["-fno-exceptions", "-O2"],
      "cflags_cc": ["-O3", "-std=c++17", "-fexceptions", "-ffp-contract=fast", "-funroll-loops", "-Wno-psabi"],
      "conditions": [
        ["target_arch=='x64' and hafif_march_native==0", {"cflags_cc": ["-march=x86-64-v2"]}],
        ["target_arch=='x64' and hafif_march_native==1", {"cflags_cc": ["-march=native"], "defines": ["HAFIF_MARCH_NATIVE"]}],
        ["target_arch=='arm64'", {"cflags_cc": ["-march=armv8-a"]}],
        ["hafif_blas==1", {"defines": ["HAFIF_HAVE_CBLAS"], "libraries": ["-lopenblas"]}],
        ["OS=='mac'", {
          "defines": ["HAFIF_HAVE_CBLAS", "ACCELERATE_NEW_LAPACK"],
          "libraries": ["-framework Accelerate"],
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "OTHER_CPLUSPLUSFLAGS": ["-O3", "-fexceptions"]
          }
        }]
      ]
    }
  ]
}
