{
  "variables": {
    "hafif_blas%": "<!(node scripts/detect-blas.cjs)"
  },
  "targets": [
    {
      "target_name": "hafif_native",
      "sources": [
        "native/addon.cc",
        "native/parallel.cc",
        "native/gemm.cc",
        "native/depthwise.cc",
        "native/conv.cc",
        "native/conv_images.cc",
        "native/pool.cc",
        "native/elementwise.cc",
        "native/reduce.cc",
        "native/bind_gemm.cc",
        "native/bind_depthwise.cc",
        "native/bind_conv.cc",
        "native/bind_pool.cc",
        "native/bind_elementwise.cc",
        "native/bind_reduce.cc",
        "native/optim.cc",
        "native/bind_optim.cc",
        "native/batchnorm.cc",
        "native/bind_batchnorm.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions", "-O2"],
      "cflags_cc!": ["-fno-exceptions", "-O2"],
      "cflags_cc": ["-O3", "-std=c++17", "-fexceptions", "-ffp-contract=fast", "-funroll-loops"],
      "conditions": [
        ["target_arch=='x64'", {"cflags_cc": ["-march=native"]}],
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
