# fcgid_add_plugin(<name> [sources...])
#
# Creates a MODULE library that fcgid can load with `--plugin <name>.so`:
#  - no "lib" prefix, so the file is <name>.so;
#  - hidden visibility, and on ELF platforms a linker version script, so only
#    fcgid_plugin_entry (marked FCGID_EXPORT) is exported and the plugin's own
#    symbols cannot clash with the host's or another library's;
#  - linked to fcgid::plugin_api for the headers.
# Add more sources, libraries or options with the usual target_* commands.

# Remembered globally: inside the function, CMAKE_CURRENT_LIST_DIR is the
# caller's directory, not this one.
set_property(GLOBAL PROPERTY FCGID_PLUGIN_EXPORTS_MAP
  "${CMAKE_CURRENT_LIST_DIR}/fcgid_plugin_exports.map")

function(fcgid_add_plugin name)
  add_library(${name} MODULE ${ARGN})
  target_link_libraries(${name} PRIVATE fcgid::plugin_api)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(CMAKE_SYSTEM_NAME MATCHES "Linux|BSD")
    get_property(exports_map GLOBAL PROPERTY FCGID_PLUGIN_EXPORTS_MAP)
    target_link_options(${name} PRIVATE "LINKER:--version-script=${exports_map}")
    set_property(TARGET ${name} APPEND PROPERTY LINK_DEPENDS "${exports_map}")
  endif()
endfunction()
