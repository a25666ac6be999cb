# cmake -DEXE=<cost_accuracy> -DDIR=<scratch dir> -P cost_replay_check.cmake
# A smoke run of cost_accuracy with --dump, then --replay of that dump: the replay must
# print the same fitted weights and figures, since it scores the same measurements.
file(MAKE_DIRECTORY "${DIR}")
set(dump "${DIR}/cost_accuracy_smoke.csv")
execute_process(COMMAND "${EXE}" --smoke --dump "${dump}" RESULT_VARIABLE rc OUTPUT_VARIABLE measured)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cost_accuracy --smoke --dump failed (${rc}):\n${measured}")
endif()
execute_process(COMMAND "${EXE}" --smoke --replay "${dump}" RESULT_VARIABLE rc OUTPUT_VARIABLE replayed)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cost_accuracy --smoke --replay failed (${rc}):\n${replayed}")
endif()
# The figures: everything from the scenario counts on.
string(FIND "${measured}" "calibration scenarios" at)
string(SUBSTRING "${measured}" ${at} -1 measured)
string(FIND "${replayed}" "calibration scenarios" at)
string(SUBSTRING "${replayed}" ${at} -1 replayed)
if(NOT measured STREQUAL replayed)
  message(FATAL_ERROR "the replay of a dump scored it differently:\n--- measured\n${measured}\n--- replayed\n${replayed}")
endif()
