! SPDX-License-Identifier: MIT
!
! gpupipe.f03: the Fortran 2003 interface to gpupipe (ISO_C_BINDING).
!
! An include file, as FFTW's fftw3.f03: your own compiler builds it into
! your program, so no compiler-specific .mod file is installed. Include it
! in the specification part of a scope that uses iso_c_binding, best once
! in a module of your own:
!
!     module gpupipe
!       use, intrinsic :: iso_c_binding
!       implicit none
!       include 'gpupipe.f03'
!     end module gpupipe
!
! and compile with the directory that holds gpupipe.h (gfortran's INCLUDE
! line does not search /usr/include, which pkg-config --cflags leaves out):
!
!     gfortran prog.f90 -I"$(pkg-config --variable=includedir gpupipe)" \
!         $(pkg-config --libs gpupipe)
!
! gpupipe.h holds the contracts; gpupipe-fortran(7) the Fortran usage.
! Each C type has the Fortran kind of its size: unsigned and enums are
! integer(c_int), uint32_t integer(c_int32_t), uint64_t integer(c_int64_t),
! size_t integer(c_size_t), long integer(c_long), pointers type(c_ptr),
! callbacks type(c_funptr), char arrays character(kind=c_char) arrays
! (NUL-terminated). Fortran has no unsigned integers: a value above huge()
! of its kind reads as negative. tests/test_fortran.sh checks every size,
! offset and constant here against gpupipe.h.
!
! Not bound:
!   gpupipe_job_set_message(job, fmt, ...): variadic. Fortran interfaces
!     cannot describe a C variadic function, and calling one through a
!     non-variadic interface is undefined behaviour in C that breaks on
!     ABIs passing variadic arguments differently from fixed ones (AArch64
!     on Apple systems puts them on the stack); passing "%s" and the
!     message is no better. A Fortran prep_cb reports a failure by its
!     return value, which done_cb receives as job%error.
!
! Callbacks are bind(C) procedures passed with c_funloc; prep_cb and
! done_cb get the job and user_data as type(c_ptr), by value:
!
!     recursive function prep(job, user_data) bind(C) result(ret)
!       type(c_ptr), value :: job, user_data
!       integer(c_int) :: ret
!       type(gpupipe_job), pointer :: j
!       real(c_float), pointer :: x(:)
!       call c_f_pointer(job, j)
!       call c_f_pointer(j%input, x, [j%in_bytes / 4])
!       x = 1.0_c_float
!       ret = 0
!     end function prep
!
! They run on the library's threads, concurrently with each other: make
! them recursive (or compile with -frecursive) so that their locals are
! on the stack, and share no variable between them without a lock.
!
! Adding a C function: one interface block in "Functions", in the order of
! gpupipe.h; adding a constant or a field: the same line here and a line
! in tests/test_fortran.f90.

! ---- limits, flags, version (the #defines of gpupipe.h) ------------------
integer(c_int), parameter :: GPUPIPE_VERSION_MAJOR = 0
integer(c_int), parameter :: GPUPIPE_VERSION_MINOR = 1
integer(c_int), parameter :: GPUPIPE_VERSION_PATCH = 0

integer(c_int), parameter :: GPUPIPE_MAX_DEPTH = 256
integer(c_int), parameter :: GPUPIPE_MAX_BATCH = 256
integer(c_int), parameter :: GPUPIPE_MAX_DEVICES = 16
integer(c_int), parameter :: GPUPIPE_MAX_PREP_THREADS = 64
integer(c_int), parameter :: GPUPIPE_MAX_POST_THREADS = 64
integer(c_int), parameter :: GPUPIPE_PARAM_WORDS = 8

! gpupipe_push's flags
integer(c_int), parameter :: GPUPIPE_NONBLOCK = 1
! gpupipe_config%flags
integer(c_int), parameter :: GPUPIPE_FIXED_BATCH = 1
integer(c_int), parameter :: GPUPIPE_NO_RESET_NOTIFICATION = 2
! gpupipe_trace_begin's flags
integer(c_int), parameter :: GPUPIPE_TRACE_GPU = 1

! ---- enums ----------------------------------------------------------------
! enum gpupipe_error: what the functions return (gpupipe_strerror)
enum, bind(c)
  enumerator :: GPUPIPE_OK = 0
  enumerator :: GPUPIPE_EINVAL = -1
  enumerator :: GPUPIPE_ENOMEM = -2
  enumerator :: GPUPIPE_EAGAIN = -3
  enumerator :: GPUPIPE_ENOTSUP = -4
  enumerator :: GPUPIPE_ESHADER = -5
  enumerator :: GPUPIPE_EDRIVER = -6
  enumerator :: GPUPIPE_EDEADLK = -7
  enumerator :: GPUPIPE_ESHUTDOWN = -8
  enumerator :: GPUPIPE_ETIMEDOUT = -9
  enumerator :: GPUPIPE_EBROKEN = -10
  enumerator :: GPUPIPE_ETHREAD = -11
end enum

! enum gpupipe_status: gpupipe_job%status in done_cb
enum, bind(c)
  enumerator :: GPUPIPE_DONE = 0
  enumerator :: GPUPIPE_FAILED = 1
  enumerator :: GPUPIPE_CANCELLED = 2
  enumerator :: GPUPIPE_TIMEDOUT = 3
  enumerator :: GPUPIPE_DEVICE_LOST = 4
end enum

! enum gpupipe_wait: gpupipe_config%wait
enum, bind(c)
  enumerator :: GPUPIPE_WAIT_DEFAULT = 0
  enumerator :: GPUPIPE_WAIT_BLOCK = 1
  enumerator :: GPUPIPE_WAIT_SIGNALLED = 2
end enum

! enum gpupipe_display: gpupipe_config%display
enum, bind(c)
  enumerator :: GPUPIPE_DISPLAY_DEFAULT = 0
  enumerator :: GPUPIPE_DISPLAY_SURFACELESS = 1
  enumerator :: GPUPIPE_DISPLAY_DEVICE = 2
  enumerator :: GPUPIPE_DISPLAY_APPLICATION = 3
  enumerator :: GPUPIPE_DISPLAY_DEVICES = 4
end enum

! ---- types ----------------------------------------------------------------
! Every component is initialised to zero (or C's NULL), as gpupipe.h asks
! of a configuration: a declared variable starts as C's "= { 0 }".

! struct gpupipe_job: the callbacks' view of one item (c_f_pointer it)
type, bind(c) :: gpupipe_job
  type(c_ptr) :: item = c_null_ptr
  integer(c_int64_t) :: seq = 0
  type(c_ptr) :: input = c_null_ptr
  integer(c_size_t) :: in_bytes = 0
  type(c_ptr) :: params = c_null_ptr
  integer(c_int32_t) :: groups(3) = 0
  type(c_ptr) :: output = c_null_ptr
  integer(c_size_t) :: out_bytes = 0
  integer(c_int) :: gl_output_buffer = 0
  integer(c_size_t) :: gl_output_offset = 0
  integer(c_int) :: status = 0
  integer(c_int) :: error = 0
  type(c_ptr) :: message = c_null_ptr
  integer(c_int) :: device = 0
end type gpupipe_job

! struct gpupipe_config: zero means the default
type, bind(c) :: gpupipe_config
  type(c_ptr) :: shader_source = c_null_ptr
  integer(c_size_t) :: in_bytes = 0
  integer(c_size_t) :: out_bytes = 0
  type(c_ptr) :: weights = c_null_ptr
  integer(c_size_t) :: weights_bytes = 0
  integer(c_int32_t) :: groups(3) = 0
  integer(c_int) :: depth = 0
  integer(c_int) :: max_batch = 0
  integer(c_int) :: prep_threads = 0
  type(c_funptr) :: prep_cb = c_null_funptr
  type(c_funptr) :: done_cb = c_null_funptr
  type(c_ptr) :: user_data = c_null_ptr
  integer(c_int) :: display = GPUPIPE_DISPLAY_DEFAULT
  integer(c_int) :: device_index = 0
  integer(c_int) :: fence_timeout_ms = 0
  integer(c_int) :: wait = GPUPIPE_WAIT_DEFAULT
  integer(c_int) :: flags = 0
  integer(c_int) :: batch_latency_us = 0
  integer(c_int) :: post_threads = 0
  type(c_ptr) :: egl_display = c_null_ptr
  type(c_ptr) :: share_context = c_null_ptr
  integer(c_int) :: ndevices = 0
  integer(c_int) :: devices(GPUPIPE_MAX_DEVICES) = 0
end type gpupipe_config

! struct gpupipe_info (gpupipe_get_info)
type, bind(c) :: gpupipe_info
  integer(c_int) :: depth = 0
  integer(c_int) :: max_batch = 0
  integer(c_int) :: prep_threads = 0
  integer(c_int) :: slots = 0
  integer(c_size_t) :: in_bytes = 0
  integer(c_size_t) :: out_bytes = 0
  integer(c_size_t) :: weights_bytes = 0
  integer(c_size_t) :: in_stride = 0
  integer(c_size_t) :: out_stride = 0
  integer(c_size_t) :: mapped_bytes = 0
  integer(c_int32_t) :: groups(3) = 0
  integer(c_int) :: fence_timeout_ms = 0
  integer(c_int) :: wait = 0
  integer(c_int) :: flags = 0
  integer(c_int) :: batch_latency_us = 0
  integer(c_int) :: post_threads = 0
  integer(c_int) :: display = 0
  integer(c_int) :: device_index = 0
  integer(c_int) :: map_flags_in = 0
  integer(c_int) :: map_flags_out = 0
  integer(c_int) :: storage_flags_out = 0
  character(kind=c_char) :: renderer(128) = c_null_char
  character(kind=c_char) :: version(128) = c_null_char
  character(kind=c_char) :: vendor(64) = c_null_char
  integer(c_int) :: ndevices = 0
  integer(c_int) :: devices(GPUPIPE_MAX_DEVICES) = 0
  integer(c_int) :: reset_notification = 0
end type gpupipe_info

! struct gpupipe_stats (gpupipe_get_stats); completed(1 + status)
type, bind(c) :: gpupipe_stats
  integer(c_int64_t) :: pushed = 0
  integer(c_int64_t) :: completed(5) = 0
  integer(c_int64_t) :: batches = 0
  integer(c_int64_t) :: in_flight = 0
  integer(c_int64_t) :: prep_busy_ns = 0
  integer(c_int64_t) :: submit_busy_ns = 0
  integer(c_int64_t) :: readback_busy_ns = 0
  integer(c_int64_t) :: done_busy_ns = 0
  integer(c_int64_t) :: prep_cpu_ns = 0
  integer(c_int64_t) :: submit_cpu_ns = 0
  integer(c_int64_t) :: readback_cpu_ns = 0
  integer(c_int64_t) :: post_cpu_ns = 0
  integer(c_int64_t) :: fence_polls = 0
  integer(c_int) :: batch_target = 0
  integer(c_int) :: in_flight_limit = 0
  integer(c_int64_t) :: gpu_ns_per_item = 0
  integer(c_int64_t) :: batch_cost_ns = 0
  integer(c_int64_t) :: close_ns = 0
  integer(c_int64_t) :: poll_ns = 0
  integer(c_int) :: devices_broken = 0
  integer(c_int) :: broken = 0
end type gpupipe_stats

! struct gpupipe_trace_record (gpupipe_trace_end's records)
type, bind(c) :: gpupipe_trace_record
  integer(c_int64_t) :: seq = 0
  integer(c_int64_t) :: push_ns = 0
  integer(c_int64_t) :: prep_start_ns = 0
  integer(c_int64_t) :: prep_end_ns = 0
  integer(c_int64_t) :: dispatch_ns = 0
  integer(c_int64_t) :: fence_ns = 0
  integer(c_int64_t) :: gpu_start_ns = 0
  integer(c_int64_t) :: gpu_end_ns = 0
  integer(c_int64_t) :: signalled_ns = 0
  integer(c_int64_t) :: done_start_ns = 0
  integer(c_int64_t) :: done_end_ns = 0
  integer(c_int64_t) :: batch = 0
  integer(c_int32_t) :: prep_thread = 0
  integer(c_int32_t) :: status = 0
end type gpupipe_trace_record

! struct gpupipe_device (gpupipe_list_devices)
type, bind(c) :: gpupipe_device
  integer(c_int) :: index = 0
  integer(c_int) :: software = 0
  integer(c_int) :: cuda_device = 0
  character(kind=c_char) :: drm_node(64) = c_null_char
  character(kind=c_char) :: driver(64) = c_null_char
  character(kind=c_char) :: renderer(128) = c_null_char
end type gpupipe_device

! ---- callbacks (gpupipe_prep_fn, gpupipe_done_fn) --------------------------
! The shapes of prep_cb and done_cb; pass yours with c_funloc.
abstract interface
  function gpupipe_prep_fn(job, user_data) bind(c)
    import
    implicit none
    integer(c_int) :: gpupipe_prep_fn
    type(c_ptr), value :: job, user_data
  end function gpupipe_prep_fn

  subroutine gpupipe_done_fn(job, user_data) bind(c)
    import
    implicit none
    type(c_ptr), value :: job, user_data
  end subroutine gpupipe_done_fn
end interface

! ---- functions, in the order of gpupipe.h --------------------------------
! A pipeline (gpupipe *) is a type(c_ptr); a job is the type(c_ptr) the
! callback received. Strings go in NUL-terminated (// c_null_char) and
! come back as type(c_ptr) to a C string (gpupipe_c_strlen, c_f_pointer).

interface
  function gpupipe_create(cfg, out) bind(c, name='gpupipe_create')
    import
    implicit none
    integer(c_int) :: gpupipe_create
    type(gpupipe_config), intent(in) :: cfg
    type(c_ptr), intent(inout) :: out
  end function gpupipe_create
end interface

interface
  function gpupipe_destroy(p) bind(c, name='gpupipe_destroy')
    import
    implicit none
    integer(c_int) :: gpupipe_destroy
    type(c_ptr), value :: p
  end function gpupipe_destroy
end interface

interface
  function gpupipe_push(p, item, flags) bind(c, name='gpupipe_push')
    import
    implicit none
    integer(c_int) :: gpupipe_push
    type(c_ptr), value :: p, item
    integer(c_int), value :: flags
  end function gpupipe_push
end interface

! seq: the item's sequence number, as its done_cb will see it in job%seq;
! pass an integer(c_int64_t) variable (the C side may also take NULL).
interface
  function gpupipe_push_timed(p, item, flags, timeout_ms, seq) &
      bind(c, name='gpupipe_push_timed')
    import
    implicit none
    integer(c_int) :: gpupipe_push_timed
    type(c_ptr), value :: p, item
    integer(c_int), value :: flags
    integer(c_long), value :: timeout_ms
    integer(c_int64_t), intent(out) :: seq
  end function gpupipe_push_timed
end interface

interface
  function gpupipe_drain(p, timeout_ms) bind(c, name='gpupipe_drain')
    import
    implicit none
    integer(c_int) :: gpupipe_drain
    type(c_ptr), value :: p
    integer(c_long), value :: timeout_ms
  end function gpupipe_drain
end interface

interface
  function gpupipe_cancel(p) bind(c, name='gpupipe_cancel')
    import
    implicit none
    integer(c_int) :: gpupipe_cancel
    type(c_ptr), value :: p
  end function gpupipe_cancel
end interface

interface
  function gpupipe_get_info(p, info) bind(c, name='gpupipe_get_info')
    import
    implicit none
    integer(c_int) :: gpupipe_get_info
    type(c_ptr), value :: p
    type(gpupipe_info), intent(out) :: info
  end function gpupipe_get_info
end interface

interface
  function gpupipe_get_stats(p, stats) bind(c, name='gpupipe_get_stats')
    import
    implicit none
    integer(c_int) :: gpupipe_get_stats
    type(c_ptr), value :: p
    type(gpupipe_stats), intent(out) :: stats
  end function gpupipe_get_stats
end interface

interface
  function gpupipe_trace_begin(p, capacity, flags) &
      bind(c, name='gpupipe_trace_begin')
    import
    implicit none
    integer(c_int) :: gpupipe_trace_begin
    type(c_ptr), value :: p
    integer(c_size_t), value :: capacity
    integer(c_int), value :: flags
  end function gpupipe_trace_begin
end interface

! records: c_f_pointer(records, r, [count]) gives type(gpupipe_trace_record)
! r(count); free it with gpupipe_c_free(records).
interface
  function gpupipe_trace_end(p, records, count) &
      bind(c, name='gpupipe_trace_end')
    import
    implicit none
    integer(c_int) :: gpupipe_trace_end
    type(c_ptr), value :: p
    type(c_ptr), intent(out) :: records
    integer(c_size_t), intent(out) :: count
  end function gpupipe_trace_end
end interface

interface
  function gpupipe_job_keep(job) bind(c, name='gpupipe_job_keep')
    import
    implicit none
    integer(c_int) :: gpupipe_job_keep
    type(c_ptr), value :: job
  end function gpupipe_job_keep
end interface

interface
  function gpupipe_release(p, job) bind(c, name='gpupipe_release')
    import
    implicit none
    integer(c_int) :: gpupipe_release
    type(c_ptr), value :: p, job
  end function gpupipe_release
end interface

! gpupipe_job_set_message: not bound (variadic; see the top of this file).

! devices(max); with max 0 only count is set (pass any one-element array).
interface
  function gpupipe_list_devices(devices, max, count) &
      bind(c, name='gpupipe_list_devices')
    import
    implicit none
    integer(c_int) :: gpupipe_list_devices
    type(gpupipe_device), intent(inout) :: devices(*)
    integer(c_int), value :: max
    integer(c_int), intent(out) :: count
  end function gpupipe_list_devices
end interface

! path: 'file.comp' // c_null_char; source: a C string for
! gpupipe_config%shader_source; free it with gpupipe_c_free(source).
interface
  function gpupipe_load_shader(path, source) &
      bind(c, name='gpupipe_load_shader')
    import
    implicit none
    integer(c_int) :: gpupipe_load_shader
    character(kind=c_char), intent(in) :: path(*)
    type(c_ptr), intent(out) :: source
  end function gpupipe_load_shader
end interface

! The library's version, "MAJOR.MINOR.PATCH" (a C string: c_string-like
! conversion with gpupipe_c_strlen), and as MAJOR*1000000+MINOR*1000+PATCH.
interface
  function gpupipe_version() bind(c, name='gpupipe_version')
    import
    implicit none
    type(c_ptr) :: gpupipe_version
  end function gpupipe_version
end interface

interface
  function gpupipe_version_number() bind(c, name='gpupipe_version_number')
    import
    implicit none
    integer(c_int) :: gpupipe_version_number
  end function gpupipe_version_number
end interface

interface
  function gpupipe_strerror(code) bind(c, name='gpupipe_strerror')
    import
    implicit none
    type(c_ptr) :: gpupipe_strerror
    integer(c_int), value :: code
  end function gpupipe_strerror
end interface

interface
  function gpupipe_error_name(code) bind(c, name='gpupipe_error_name')
    import
    implicit none
    type(c_ptr) :: gpupipe_error_name
    integer(c_int), value :: code
  end function gpupipe_error_name
end interface

interface
  function gpupipe_status_name(status) bind(c, name='gpupipe_status_name')
    import
    implicit none
    type(c_ptr) :: gpupipe_status_name
    integer(c_int), value :: status
  end function gpupipe_status_name
end interface

interface
  function gpupipe_errmsg() bind(c, name='gpupipe_errmsg')
    import
    implicit none
    type(c_ptr) :: gpupipe_errmsg
  end function gpupipe_errmsg
end interface

! ---- from the C library, for what gpupipe returns --------------------------
! C's free(), for gpupipe_trace_end's records and gpupipe_load_shader's
! source; C's strlen(), to turn a returned C string into a Fortran one.
interface
  subroutine gpupipe_c_free(ptr) bind(c, name='free')
    import
    implicit none
    type(c_ptr), value :: ptr
  end subroutine gpupipe_c_free
end interface

interface
  function gpupipe_c_strlen(s) bind(c, name='strlen')
    import
    implicit none
    integer(c_size_t) :: gpupipe_c_strlen
    type(c_ptr), value :: s
  end function gpupipe_c_strlen
end interface
