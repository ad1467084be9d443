# Build of the CDX native engine (Node-API, so one binary loads in Node and in Electron).
# - Sources: every native/src/*.cc (command expansion), so adding a kernel never edits a shared list.
# - node-addon-api with NAPI C++ exceptions disabled: errors cross Node-API as values (rejections
#   with a `code`). C++ exceptions stay enabled *inside* our code so std::bad_alloc can be caught
#   in Execute() and turned into an error value; none is allowed to escape an entry point.
# - -O3 without -march=native: the binary must run on any x86-64 / arm64 machine.
# - OpenMP where the compiler has it (gcc on Linux); a serial build elsewhere (Apple clang without
#   libomp); the code uses #ifdef _OPENMP.
{
  "targets": [
    {
      "target_name": "cdx_native",
      "sources": [
        "<!@(node -p \"require('fs').readdirSync('src').filter(f => f.endsWith('.cc')).sort().map(f => 'src/' + f).join(' ')\")"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "src"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "cflags!": ["-fno-exceptions", "-O2", "-O0"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-O2", "-O0"],
      "cflags_cc": ["-std=gnu++17", "-O3", "-fexceptions"],
      "conditions": [
        # zstd for the native Parquet encoder (src/parquet_write.cc): the system libzstd when its
        # header is installed (Debian/Ubuntu: libzstd-dev; macOS: brew install zstd), else the
        # encoder reports zstd unavailable and Parquet zstd output stays on parquet-wasm.
        ["<!(node -p \"['/usr/include/zstd.h','/usr/local/include/zstd.h','/opt/homebrew/include/zstd.h'].some(f => require('fs').existsSync(f)) ? 1 : 0\")==1", {
          "defines": ["CDX_HAVE_ZSTD"],
          "include_dirs": ["<!(node -p \"['/usr/local/include','/opt/homebrew/include'].find(d => require('fs').existsSync(d + '/zstd.h')) || 'src'\")"],
          "libraries": ["-lzstd"],
          "conditions": [["OS=='mac'", { "libraries": ["-L/usr/local/lib", "-L/opt/homebrew/lib"] }]]
        }],
        ["OS=='linux'", {
          "cflags_cc": ["-fopenmp"],
          "ldflags": ["-fopenmp"]
        }],
        ["OS=='mac'", {
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "gnu++17",
            "GCC_OPTIMIZATION_LEVEL": "3",
            "MACOSX_DEPLOYMENT_TARGET": "11.0"
          }
        }],
        ["OS=='win'", {
          "msvs_settings": {
            "VCCLCompilerTool": { "ExceptionHandling": 1, "OpenMP": "true", "AdditionalOptions": ["/std:c++17", "/O2"] }
          }
        }]
      ]
    }
  ]
}
