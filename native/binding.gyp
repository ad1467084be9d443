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
        # zstd for the native Parquet encoder (src/parquet_write.cc). Enabled when zstd.h is found:
        # $ZSTD_ROOT/include (a prefix holding a static zstd: vcpkg's x64-windows-static on Windows),
        # /usr/include (Debian/Ubuntu: libzstd-dev), /usr/local/include or /opt/homebrew/include
        # (macOS: brew install zstd). Without it the encoder reports zstd unavailable and Parquet
        # zstd output stays on parquet-wasm.
        # The library is linked STATICALLY where its archive exists ($ZSTD_ROOT/lib/zstd.lib or
        # libzstd.a, /usr/lib/<multiarch>/libzstd.a — Debian's libzstd-dev ships it —, /usr/lib64,
        # /usr/lib, Homebrew's lib/libzstd.a), so that the addon inside an installer needs no libzstd
        # on the user's machine; only where no archive exists does it fall back to -lzstd (a
        # development build). CDX_ZSTD_STATIC=1 (the release workflow) turns that fallback into a
        # build error. On Linux the archive's symbols are kept out of the addon's exports
        # (--exclude-libs) so they cannot clash with a zstd that the host process carries.
        ["<!(node -p \"const fs=require('fs'),p=require('path'),r=process.env.ZSTD_ROOT;[r&&p.join(r,'include','zstd.h'),'/usr/include/zstd.h','/usr/local/include/zstd.h','/opt/homebrew/include/zstd.h'].some(f => f && fs.existsSync(f)) ? 1 : 0\")==1", {
          "defines": ["CDX_HAVE_ZSTD"],
          "include_dirs": ["<!(node -p \"const fs=require('fs'),p=require('path'),r=process.env.ZSTD_ROOT;[r&&p.join(r,'include'),'/usr/local/include','/opt/homebrew/include'].find(d => d && fs.existsSync(p.join(d,'zstd.h'))) || 'src'\")"],
          "libraries": ["<!(node -p \"const fs=require('fs'),p=require('path'),r=process.env.ZSTD_ROOT,m={x64:'x86_64-linux-gnu',arm64:'aarch64-linux-gnu',arm:'arm-linux-gnueabihf'}[process.arch],brew=process.arch==='arm64'?['/opt/homebrew/lib','/usr/local/lib']:['/usr/local/lib','/opt/homebrew/lib'];const c=[r&&p.join(r,'lib','zstd_static.lib'),r&&p.join(r,'lib','zstd.lib'),r&&p.join(r,'lib','libzstd.a'),m&&'/usr/lib/'+m+'/libzstd.a','/usr/lib64/libzstd.a','/usr/lib/libzstd.a'].concat(brew.map(d => d+'/libzstd.a')).filter(Boolean);const a=c.find(f => fs.existsSync(f));if(!a&&process.env.CDX_ZSTD_STATIC==='1')throw new Error('CDX_ZSTD_STATIC=1 but no static zstd library in: '+c.join(', '));a||'-lzstd'\")"],
          "conditions": [
            ["OS=='mac'", { "libraries": ["-L/usr/local/lib", "-L/opt/homebrew/lib"] }],
            ["OS=='linux'", { "ldflags": ["-Wl,--exclude-libs,libzstd.a"] }]
          ]
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
