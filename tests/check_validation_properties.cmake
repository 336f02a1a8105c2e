# ctest's ValidationPolicy.EveryTestFailsOnValidationMessages: every test registered in this build runs
# under the validation layer and fails when its output holds a validation message, but for those named
# below, which start no Vulkan instance or must see messages on purpose. A test registered by hand without
# the properties that tests/CMakeLists.txt gives every GoogleTest fails this.
# Arguments: -DCTEST=<ctest> -DBUILD_DIR=<build directory> -DMESSAGE=<the message prefix>.
execute_process(COMMAND ${CTEST} --show-only=json-v1 WORKING_DIRECTORY ${BUILD_DIR} OUTPUT_VARIABLE json
                RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "ctest --show-only=json-v1 failed (${status})")
endif()
# ValidationPolicy and ReferencePolicy: probes judged by their own expressions; TrainModel, TrainCorpus,
# TrainCoprocessor: Python; Fuzz: parsers; CliCoverage: `--help` texts only; Sanitizer: the leak probe (no Vulkan);
# *_NOT_BUILT: placeholders for test binaries a partial build left out.
set(exempt "^(ValidationPolicy|ReferencePolicy|TrainModel|TrainCorpus|TrainCoprocessor|Fuzz|CliCoverage|Sanitizer)\\.|_NOT_BUILT$")
string(JSON count LENGTH "${json}" tests)
math(EXPR last "${count} - 1")
set(checked 0)
set(missing "")
foreach(i RANGE ${last})
  string(JSON test GET "${json}" tests ${i})
  string(JSON name GET "${test}" name)
  if(name MATCHES "${exempt}")
    continue()
  endif()
  math(EXPR checked "${checked} + 1")
  set(validates FALSE)
  set(fails_on_messages FALSE)
  string(JSON property_count LENGTH "${test}" properties)
  math(EXPR last_property "${property_count} - 1")
  foreach(p RANGE ${last_property})
    string(JSON property GET "${test}" properties ${p} name)
    string(JSON value GET "${test}" properties ${p} value)
    string(FIND "${value}" "\"${MESSAGE}\"" message_at)
    if(property STREQUAL "ENVIRONMENT" AND value MATCHES "\"LAGVK_VALIDATION=(1|sync)\"")
      set(validates TRUE)
    elseif(property STREQUAL "FAIL_REGULAR_EXPRESSION" AND message_at GREATER_EQUAL 0)
      set(fails_on_messages TRUE)
    endif()
  endforeach()
  if(NOT validates OR NOT fails_on_messages)
    list(APPEND missing "${name}")
  endif()
endforeach()
if(missing)
  list(LENGTH missing n)
  list(JOIN missing "\n  " shown)
  message(FATAL_ERROR "${n} test(s) run without LAGVK_VALIDATION=1 (or sync) or without FAIL_REGULAR_EXPRESSION "
                      "\"${MESSAGE}\" (give them tests/CMakeLists.txt's properties):\n  ${shown}")
endif()
message("all ${checked} tests that may touch Vulkan run under validation and fail on a message")
