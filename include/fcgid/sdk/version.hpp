// fcgid/sdk/version.hpp: the C++ SDK's own version.
//
// The SDK is header-only and compiles into the plugin, on top of the C ABI
// (fcgid/plugin.h, versioned in fcgid/version.h). No C++ type crosses the
// ABI, so the two versions move independently: a plugin built with any SDK
// version loads into any fcgid of the same ABI major version. The SDK
// version tells plugin authors which source API they compile against:
//  - MINOR: additions; code written for an earlier minor still compiles;
//  - MAJOR: a source-incompatible change (renamed or removed API).
// Until 1.0 the API may still change between minors (the product is 0.x).
#ifndef FCGID_SDK_VERSION_HPP
#define FCGID_SDK_VERSION_HPP

#define FCGID_SDK_VERSION_MAJOR 0
#define FCGID_SDK_VERSION_MINOR 1
#define FCGID_SDK_VERSION_STRING "0.1"

#endif  // FCGID_SDK_VERSION_HPP
