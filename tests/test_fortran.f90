! SPDX-License-Identifier: MIT
!
! The Fortran interface (include/gpupipe.f03) against the library, run by
! tests/test_fortran.sh:
!
!   test_fortran layout   prints, for every type of gpupipe.f03, its size,
!                         its array stride and each component's offset and
!                         size, and the value of every constant, in the
!                         format of the C program test_fortran.sh makes
!                         from gpupipe.h; the script compares the two.
!   test_fortran calls    calls every bound function and prints one line
!                         per check, "pass WHAT" or "fail WHAT: DETAIL".

module fcheck
  use, intrinsic :: iso_c_binding
  implicit none
  include 'gpupipe.f03'

  integer, parameter :: nitems = 5, nx = 64, nw = 3
  integer, parameter :: failing = 4  ! this seq's prep_cb fails ...
  integer(c_int), parameter :: prep_error = 42  ! ... with this
  integer(c_int), target :: ids(nitems)
  integer(c_int32_t), target :: weights(nw) = [3, 5, 7]
  ! What done_cb saw, by seq + 1 (done_cbs run one at a time).
  integer(c_int) :: seen_status(nitems) = -1, seen_error(nitems) = 0
  logical :: seen_ok(nitems) = .false.
  integer :: seen_order = 0, out_of_order = 0
  integer(c_int) :: keep_ret = -100, keep_again = -100
  type(c_ptr) :: kept = c_null_ptr
  integer :: fails = 0

contains

  ! A C string as a Fortran one ("" for NULL).
  function c_string(p) result(s)
    type(c_ptr), intent(in) :: p
    character(len=:), allocatable :: s
    character(kind=c_char), pointer :: c(:)
    integer :: i, n

    if (.not. c_associated(p)) then
      s = ''
      return
    end if
    n = int(gpupipe_c_strlen(p))
    call c_f_pointer(p, c, [n])
    allocate(character(len=n) :: s)
    do i = 1, n
      s(i:i) = c(i)
    end do
  end function c_string

  subroutine check(ok, what, detail)
    logical, intent(in) :: ok
    character(len=*), intent(in) :: what, detail

    if (ok) then
      write (*, '(a)') 'pass ' // what
    else
      write (*, '(a)') 'fail ' // what // ': ' // detail
      fails = fails + 1
    end if
  end subroutine check

  function str(i) result(s)
    integer(c_int64_t), intent(in) :: i
    character(len=:), allocatable :: s
    character(len=24) :: buf

    write (buf, '(i0)') i
    s = trim(buf)
  end function str

  ! test_affine.comp: y(i) = x(i) * w(mod(i, nw)) + tag; x from the item.
  pure function x_of(id, i) result(x)
    integer(c_int), intent(in) :: id, i
    integer(c_int32_t) :: x

    x = 100 * id + i + 1
  end function x_of

  recursive function prep(job, user_data) bind(c) result(ret)
    type(c_ptr), value :: job, user_data
    integer(c_int) :: ret
    type(gpupipe_job), pointer :: j
    integer(c_int), pointer :: id
    integer(c_int32_t), pointer :: x(:), params(:)
    integer(c_int) :: i

    ret = 0
    call c_f_pointer(job, j)
    call c_f_pointer(j%item, id)
    if (j%seq == failing) then
      ret = prep_error
      return
    end if
    call c_f_pointer(j%input, x, [nx])
    call c_f_pointer(j%params, params, [GPUPIPE_PARAM_WORDS])
    do i = 0, nx - 1
      x(i + 1) = x_of(id, i)
    end do
    params(1) = 1000 + id  ! tag
    params(2) = nx
    params(3) = nw
    j%groups(1) = 1
    if (c_associated(user_data)) ret = -1  ! user_data is NULL here
  end function prep

  recursive subroutine done(job, user_data) bind(c)
    type(c_ptr), value :: job, user_data
    type(gpupipe_job), pointer :: j
    integer(c_int), pointer :: id
    integer(c_int32_t), pointer :: out(:)
    integer(c_int) :: i, k
    logical :: ok

    call c_f_pointer(job, j)
    call c_f_pointer(j%item, id)
    k = int(j%seq) + 1
    if (k /= seen_order + 1 .or. id /= k - 1) out_of_order = out_of_order + 1
    seen_order = k
    seen_status(k) = j%status
    seen_error(k) = j%error
    if (j%status /= GPUPIPE_DONE) return
    call c_f_pointer(j%output, out, [2 + nx])
    ok = out(1) == 1000 + id .and. out(2) == nx .and. &
         j%out_bytes == 4 * (2 + nx)
    do i = 0, nx - 1
      ok = ok .and. out(3 + i) == x_of(id, i) * weights(mod(i, nw) + 1) + 1000 + id
    end do
    seen_ok(k) = ok .and. .not. c_associated(user_data)
    if (k == 2) then
      keep_ret = gpupipe_job_keep(job)
      keep_again = gpupipe_job_keep(job)
      kept = job
    end if
  end subroutine done

end module fcheck

program test_fortran
  use, intrinsic :: iso_c_binding
  use fcheck
  implicit none
  character(len=16) :: mode

  call get_command_argument(1, mode)
  select case (trim(mode))
  case ('layout')
    call types()
    call constants()
  case ('calls')
    call null_pipeline()
    call names()
    call devices_and_shaders()
    call pipeline()
    if (fails > 0) stop 1
  case default
    write (*, '(a)') 'usage: test_fortran layout|calls'
    stop 2
  end select

contains

  subroutine put(kind, t, f, n)
    character(len=*), intent(in) :: kind, t, f
    integer(c_intptr_t), intent(in) :: n

    if (f == '') then
      write (*, '(a, 1x, a, 1x, i0)') kind, t, n
    else
      write (*, '(a, 1x, a, ".", a, 1x, i0)') kind, t, f, n
    end if
  end subroutine put

  ! "field TYPE.COMPONENT OFFSET SIZE"
  subroutine field(t, f, base, comp, size)
    character(len=*), intent(in) :: t, f
    type(c_ptr), intent(in) :: base, comp
    integer(c_size_t), intent(in) :: size

    write (*, '("field ", a, ".", a, 1x, i0, 1x, i0)') t, f, &
      transfer(comp, 0_c_intptr_t) - transfer(base, 0_c_intptr_t), size
  end subroutine field

  ! "size TYPE N" (c_sizeof) and "stride TYPE N" (between array elements)
  subroutine sizes(t, size, first, second)
    character(len=*), intent(in) :: t
    integer(c_size_t), intent(in) :: size
    type(c_ptr), intent(in) :: first, second

    call put('size', t, '', int(size, c_intptr_t))
    call put('stride', t, '', &
      transfer(second, 0_c_intptr_t) - transfer(first, 0_c_intptr_t))
  end subroutine sizes

  subroutine types()
    call job_layout()
    call config_layout()
    call info_layout()
    call stats_layout()
    call trace_layout()
    call device_layout()
  end subroutine types

  subroutine job_layout()
    type(gpupipe_job), target :: v(2)
    character(len=*), parameter :: t = 'gpupipe_job'

    call sizes(t, c_sizeof(v(1)), c_loc(v(1)), c_loc(v(2)))
    associate (b => c_loc(v(1)))
      call field(t, 'item', b, c_loc(v(1)%item), c_sizeof(v(1)%item))
      call field(t, 'seq', b, c_loc(v(1)%seq), c_sizeof(v(1)%seq))
      call field(t, 'input', b, c_loc(v(1)%input), c_sizeof(v(1)%input))
      call field(t, 'in_bytes', b, c_loc(v(1)%in_bytes), c_sizeof(v(1)%in_bytes))
      call field(t, 'params', b, c_loc(v(1)%params), c_sizeof(v(1)%params))
      call field(t, 'groups', b, c_loc(v(1)%groups), c_sizeof(v(1)%groups))
      call field(t, 'output', b, c_loc(v(1)%output), c_sizeof(v(1)%output))
      call field(t, 'out_bytes', b, c_loc(v(1)%out_bytes), c_sizeof(v(1)%out_bytes))
      call field(t, 'gl_output_buffer', b, c_loc(v(1)%gl_output_buffer), &
        c_sizeof(v(1)%gl_output_buffer))
      call field(t, 'gl_output_offset', b, c_loc(v(1)%gl_output_offset), &
        c_sizeof(v(1)%gl_output_offset))
      call field(t, 'status', b, c_loc(v(1)%status), c_sizeof(v(1)%status))
      call field(t, 'error', b, c_loc(v(1)%error), c_sizeof(v(1)%error))
      call field(t, 'message', b, c_loc(v(1)%message), c_sizeof(v(1)%message))
      call field(t, 'device', b, c_loc(v(1)%device), c_sizeof(v(1)%device))
    end associate
  end subroutine job_layout

  subroutine config_layout()
    type(gpupipe_config), target :: v(2)
    character(len=*), parameter :: t = 'gpupipe_config'

    call sizes(t, c_sizeof(v(1)), c_loc(v(1)), c_loc(v(2)))
    associate (b => c_loc(v(1)))
      call field(t, 'shader_source', b, c_loc(v(1)%shader_source), &
        c_sizeof(v(1)%shader_source))
      call field(t, 'in_bytes', b, c_loc(v(1)%in_bytes), c_sizeof(v(1)%in_bytes))
      call field(t, 'out_bytes', b, c_loc(v(1)%out_bytes), c_sizeof(v(1)%out_bytes))
      call field(t, 'weights', b, c_loc(v(1)%weights), c_sizeof(v(1)%weights))
      call field(t, 'weights_bytes', b, c_loc(v(1)%weights_bytes), &
        c_sizeof(v(1)%weights_bytes))
      call field(t, 'groups', b, c_loc(v(1)%groups), c_sizeof(v(1)%groups))
      call field(t, 'depth', b, c_loc(v(1)%depth), c_sizeof(v(1)%depth))
      call field(t, 'max_batch', b, c_loc(v(1)%max_batch), c_sizeof(v(1)%max_batch))
      call field(t, 'prep_threads', b, c_loc(v(1)%prep_threads), &
        c_sizeof(v(1)%prep_threads))
      call field(t, 'prep_cb', b, c_loc(v(1)%prep_cb), c_sizeof(v(1)%prep_cb))
      call field(t, 'done_cb', b, c_loc(v(1)%done_cb), c_sizeof(v(1)%done_cb))
      call field(t, 'user_data', b, c_loc(v(1)%user_data), c_sizeof(v(1)%user_data))
      call field(t, 'display', b, c_loc(v(1)%display), c_sizeof(v(1)%display))
      call field(t, 'device_index', b, c_loc(v(1)%device_index), &
        c_sizeof(v(1)%device_index))
      call field(t, 'fence_timeout_ms', b, c_loc(v(1)%fence_timeout_ms), &
        c_sizeof(v(1)%fence_timeout_ms))
      call field(t, 'wait', b, c_loc(v(1)%wait), c_sizeof(v(1)%wait))
      call field(t, 'flags', b, c_loc(v(1)%flags), c_sizeof(v(1)%flags))
      call field(t, 'batch_latency_us', b, c_loc(v(1)%batch_latency_us), &
        c_sizeof(v(1)%batch_latency_us))
      call field(t, 'post_threads', b, c_loc(v(1)%post_threads), &
        c_sizeof(v(1)%post_threads))
      call field(t, 'egl_display', b, c_loc(v(1)%egl_display), &
        c_sizeof(v(1)%egl_display))
      call field(t, 'share_context', b, c_loc(v(1)%share_context), &
        c_sizeof(v(1)%share_context))
      call field(t, 'ndevices', b, c_loc(v(1)%ndevices), c_sizeof(v(1)%ndevices))
      call field(t, 'devices', b, c_loc(v(1)%devices), c_sizeof(v(1)%devices))
    end associate
  end subroutine config_layout

  subroutine info_layout()
    type(gpupipe_info), target :: v(2)
    character(len=*), parameter :: t = 'gpupipe_info'

    call sizes(t, c_sizeof(v(1)), c_loc(v(1)), c_loc(v(2)))
    associate (b => c_loc(v(1)))
      call field(t, 'depth', b, c_loc(v(1)%depth), c_sizeof(v(1)%depth))
      call field(t, 'max_batch', b, c_loc(v(1)%max_batch), c_sizeof(v(1)%max_batch))
      call field(t, 'prep_threads', b, c_loc(v(1)%prep_threads), &
        c_sizeof(v(1)%prep_threads))
      call field(t, 'slots', b, c_loc(v(1)%slots), c_sizeof(v(1)%slots))
      call field(t, 'in_bytes', b, c_loc(v(1)%in_bytes), c_sizeof(v(1)%in_bytes))
      call field(t, 'out_bytes', b, c_loc(v(1)%out_bytes), c_sizeof(v(1)%out_bytes))
      call field(t, 'weights_bytes', b, c_loc(v(1)%weights_bytes), &
        c_sizeof(v(1)%weights_bytes))
      call field(t, 'in_stride', b, c_loc(v(1)%in_stride), c_sizeof(v(1)%in_stride))
      call field(t, 'out_stride', b, c_loc(v(1)%out_stride), c_sizeof(v(1)%out_stride))
      call field(t, 'mapped_bytes', b, c_loc(v(1)%mapped_bytes), &
        c_sizeof(v(1)%mapped_bytes))
      call field(t, 'groups', b, c_loc(v(1)%groups), c_sizeof(v(1)%groups))
      call field(t, 'fence_timeout_ms', b, c_loc(v(1)%fence_timeout_ms), &
        c_sizeof(v(1)%fence_timeout_ms))
      call field(t, 'wait', b, c_loc(v(1)%wait), c_sizeof(v(1)%wait))
      call field(t, 'flags', b, c_loc(v(1)%flags), c_sizeof(v(1)%flags))
      call field(t, 'batch_latency_us', b, c_loc(v(1)%batch_latency_us), &
        c_sizeof(v(1)%batch_latency_us))
      call field(t, 'post_threads', b, c_loc(v(1)%post_threads), &
        c_sizeof(v(1)%post_threads))
      call field(t, 'display', b, c_loc(v(1)%display), c_sizeof(v(1)%display))
      call field(t, 'device_index', b, c_loc(v(1)%device_index), &
        c_sizeof(v(1)%device_index))
      call field(t, 'map_flags_in', b, c_loc(v(1)%map_flags_in), &
        c_sizeof(v(1)%map_flags_in))
      call field(t, 'map_flags_out', b, c_loc(v(1)%map_flags_out), &
        c_sizeof(v(1)%map_flags_out))
      call field(t, 'storage_flags_out', b, c_loc(v(1)%storage_flags_out), &
        c_sizeof(v(1)%storage_flags_out))
      call field(t, 'renderer', b, c_loc(v(1)%renderer), c_sizeof(v(1)%renderer))
      call field(t, 'version', b, c_loc(v(1)%version), c_sizeof(v(1)%version))
      call field(t, 'vendor', b, c_loc(v(1)%vendor), c_sizeof(v(1)%vendor))
      call field(t, 'ndevices', b, c_loc(v(1)%ndevices), c_sizeof(v(1)%ndevices))
      call field(t, 'devices', b, c_loc(v(1)%devices), c_sizeof(v(1)%devices))
      call field(t, 'reset_notification', b, c_loc(v(1)%reset_notification), &
        c_sizeof(v(1)%reset_notification))
    end associate
  end subroutine info_layout

  subroutine stats_layout()
    type(gpupipe_stats), target :: v(2)
    character(len=*), parameter :: t = 'gpupipe_stats'

    call sizes(t, c_sizeof(v(1)), c_loc(v(1)), c_loc(v(2)))
    associate (b => c_loc(v(1)))
      call field(t, 'pushed', b, c_loc(v(1)%pushed), c_sizeof(v(1)%pushed))
      call field(t, 'completed', b, c_loc(v(1)%completed), c_sizeof(v(1)%completed))
      call field(t, 'batches', b, c_loc(v(1)%batches), c_sizeof(v(1)%batches))
      call field(t, 'in_flight', b, c_loc(v(1)%in_flight), c_sizeof(v(1)%in_flight))
      call field(t, 'prep_busy_ns', b, c_loc(v(1)%prep_busy_ns), &
        c_sizeof(v(1)%prep_busy_ns))
      call field(t, 'submit_busy_ns', b, c_loc(v(1)%submit_busy_ns), &
        c_sizeof(v(1)%submit_busy_ns))
      call field(t, 'readback_busy_ns', b, c_loc(v(1)%readback_busy_ns), &
        c_sizeof(v(1)%readback_busy_ns))
      call field(t, 'done_busy_ns', b, c_loc(v(1)%done_busy_ns), &
        c_sizeof(v(1)%done_busy_ns))
      call field(t, 'prep_cpu_ns', b, c_loc(v(1)%prep_cpu_ns), &
        c_sizeof(v(1)%prep_cpu_ns))
      call field(t, 'submit_cpu_ns', b, c_loc(v(1)%submit_cpu_ns), &
        c_sizeof(v(1)%submit_cpu_ns))
      call field(t, 'readback_cpu_ns', b, c_loc(v(1)%readback_cpu_ns), &
        c_sizeof(v(1)%readback_cpu_ns))
      call field(t, 'post_cpu_ns', b, c_loc(v(1)%post_cpu_ns), &
        c_sizeof(v(1)%post_cpu_ns))
      call field(t, 'fence_polls', b, c_loc(v(1)%fence_polls), &
        c_sizeof(v(1)%fence_polls))
      call field(t, 'batch_target', b, c_loc(v(1)%batch_target), &
        c_sizeof(v(1)%batch_target))
      call field(t, 'in_flight_limit', b, c_loc(v(1)%in_flight_limit), &
        c_sizeof(v(1)%in_flight_limit))
      call field(t, 'gpu_ns_per_item', b, c_loc(v(1)%gpu_ns_per_item), &
        c_sizeof(v(1)%gpu_ns_per_item))
      call field(t, 'batch_cost_ns', b, c_loc(v(1)%batch_cost_ns), &
        c_sizeof(v(1)%batch_cost_ns))
      call field(t, 'close_ns', b, c_loc(v(1)%close_ns), c_sizeof(v(1)%close_ns))
      call field(t, 'poll_ns', b, c_loc(v(1)%poll_ns), c_sizeof(v(1)%poll_ns))
      call field(t, 'devices_broken', b, c_loc(v(1)%devices_broken), &
        c_sizeof(v(1)%devices_broken))
      call field(t, 'broken', b, c_loc(v(1)%broken), c_sizeof(v(1)%broken))
    end associate
  end subroutine stats_layout

  subroutine trace_layout()
    type(gpupipe_trace_record), target :: v(2)
    character(len=*), parameter :: t = 'gpupipe_trace_record'

    call sizes(t, c_sizeof(v(1)), c_loc(v(1)), c_loc(v(2)))
    associate (b => c_loc(v(1)))
      call field(t, 'seq', b, c_loc(v(1)%seq), c_sizeof(v(1)%seq))
      call field(t, 'push_ns', b, c_loc(v(1)%push_ns), c_sizeof(v(1)%push_ns))
      call field(t, 'prep_start_ns', b, c_loc(v(1)%prep_start_ns), &
        c_sizeof(v(1)%prep_start_ns))
      call field(t, 'prep_end_ns', b, c_loc(v(1)%prep_end_ns), &
        c_sizeof(v(1)%prep_end_ns))
      call field(t, 'dispatch_ns', b, c_loc(v(1)%dispatch_ns), &
        c_sizeof(v(1)%dispatch_ns))
      call field(t, 'fence_ns', b, c_loc(v(1)%fence_ns), c_sizeof(v(1)%fence_ns))
      call field(t, 'gpu_start_ns', b, c_loc(v(1)%gpu_start_ns), &
        c_sizeof(v(1)%gpu_start_ns))
      call field(t, 'gpu_end_ns', b, c_loc(v(1)%gpu_end_ns), &
        c_sizeof(v(1)%gpu_end_ns))
      call field(t, 'signalled_ns', b, c_loc(v(1)%signalled_ns), &
        c_sizeof(v(1)%signalled_ns))
      call field(t, 'done_start_ns', b, c_loc(v(1)%done_start_ns), &
        c_sizeof(v(1)%done_start_ns))
      call field(t, 'done_end_ns', b, c_loc(v(1)%done_end_ns), &
        c_sizeof(v(1)%done_end_ns))
      call field(t, 'batch', b, c_loc(v(1)%batch), c_sizeof(v(1)%batch))
      call field(t, 'prep_thread', b, c_loc(v(1)%prep_thread), &
        c_sizeof(v(1)%prep_thread))
      call field(t, 'status', b, c_loc(v(1)%status), c_sizeof(v(1)%status))
    end associate
  end subroutine trace_layout

  subroutine device_layout()
    type(gpupipe_device), target :: v(2)
    character(len=*), parameter :: t = 'gpupipe_device'

    call sizes(t, c_sizeof(v(1)), c_loc(v(1)), c_loc(v(2)))
    associate (b => c_loc(v(1)))
      call field(t, 'index', b, c_loc(v(1)%index), c_sizeof(v(1)%index))
      call field(t, 'software', b, c_loc(v(1)%software), c_sizeof(v(1)%software))
      call field(t, 'cuda_device', b, c_loc(v(1)%cuda_device), &
        c_sizeof(v(1)%cuda_device))
      call field(t, 'drm_node', b, c_loc(v(1)%drm_node), c_sizeof(v(1)%drm_node))
      call field(t, 'driver', b, c_loc(v(1)%driver), c_sizeof(v(1)%driver))
      call field(t, 'renderer', b, c_loc(v(1)%renderer), c_sizeof(v(1)%renderer))
    end associate
  end subroutine device_layout

  ! "const NAME VALUE"
  subroutine k(name, value)
    character(len=*), intent(in) :: name
    integer(c_int), intent(in) :: value

    write (*, '("const ", a, 1x, i0)') name, value
  end subroutine k

  subroutine constants()
    call k('GPUPIPE_VERSION_MAJOR', GPUPIPE_VERSION_MAJOR)
    call k('GPUPIPE_VERSION_MINOR', GPUPIPE_VERSION_MINOR)
    call k('GPUPIPE_VERSION_PATCH', GPUPIPE_VERSION_PATCH)
    call k('GPUPIPE_MAX_DEPTH', GPUPIPE_MAX_DEPTH)
    call k('GPUPIPE_MAX_BATCH', GPUPIPE_MAX_BATCH)
    call k('GPUPIPE_MAX_DEVICES', GPUPIPE_MAX_DEVICES)
    call k('GPUPIPE_MAX_PREP_THREADS', GPUPIPE_MAX_PREP_THREADS)
    call k('GPUPIPE_MAX_POST_THREADS', GPUPIPE_MAX_POST_THREADS)
    call k('GPUPIPE_PARAM_WORDS', GPUPIPE_PARAM_WORDS)
    call k('GPUPIPE_NONBLOCK', GPUPIPE_NONBLOCK)
    call k('GPUPIPE_FIXED_BATCH', GPUPIPE_FIXED_BATCH)
    call k('GPUPIPE_NO_RESET_NOTIFICATION', GPUPIPE_NO_RESET_NOTIFICATION)
    call k('GPUPIPE_TRACE_GPU', GPUPIPE_TRACE_GPU)
    call k('GPUPIPE_OK', GPUPIPE_OK)
    call k('GPUPIPE_EINVAL', GPUPIPE_EINVAL)
    call k('GPUPIPE_ENOMEM', GPUPIPE_ENOMEM)
    call k('GPUPIPE_EAGAIN', GPUPIPE_EAGAIN)
    call k('GPUPIPE_ENOTSUP', GPUPIPE_ENOTSUP)
    call k('GPUPIPE_ESHADER', GPUPIPE_ESHADER)
    call k('GPUPIPE_EDRIVER', GPUPIPE_EDRIVER)
    call k('GPUPIPE_EDEADLK', GPUPIPE_EDEADLK)
    call k('GPUPIPE_ESHUTDOWN', GPUPIPE_ESHUTDOWN)
    call k('GPUPIPE_ETIMEDOUT', GPUPIPE_ETIMEDOUT)
    call k('GPUPIPE_EBROKEN', GPUPIPE_EBROKEN)
    call k('GPUPIPE_ETHREAD', GPUPIPE_ETHREAD)
    call k('GPUPIPE_DONE', GPUPIPE_DONE)
    call k('GPUPIPE_FAILED', GPUPIPE_FAILED)
    call k('GPUPIPE_CANCELLED', GPUPIPE_CANCELLED)
    call k('GPUPIPE_TIMEDOUT', GPUPIPE_TIMEDOUT)
    call k('GPUPIPE_DEVICE_LOST', GPUPIPE_DEVICE_LOST)
    call k('GPUPIPE_WAIT_DEFAULT', GPUPIPE_WAIT_DEFAULT)
    call k('GPUPIPE_WAIT_BLOCK', GPUPIPE_WAIT_BLOCK)
    call k('GPUPIPE_WAIT_SIGNALLED', GPUPIPE_WAIT_SIGNALLED)
    call k('GPUPIPE_DISPLAY_DEFAULT', GPUPIPE_DISPLAY_DEFAULT)
    call k('GPUPIPE_DISPLAY_SURFACELESS', GPUPIPE_DISPLAY_SURFACELESS)
    call k('GPUPIPE_DISPLAY_DEVICE', GPUPIPE_DISPLAY_DEVICE)
    call k('GPUPIPE_DISPLAY_APPLICATION', GPUPIPE_DISPLAY_APPLICATION)
    call k('GPUPIPE_DISPLAY_DEVICES', GPUPIPE_DISPLAY_DEVICES)
  end subroutine constants

  ! gpupipe.h: "Every call that takes a pipeline p returns GPUPIPE_EINVAL
  ! for a NULL p"; "A NULL p is a no-op returning 0" (destroy).
  subroutine null_pipeline()
    type(c_ptr), parameter :: null = c_null_ptr
    type(gpupipe_info) :: info
    type(gpupipe_stats) :: stats
    type(c_ptr) :: records
    integer(c_size_t) :: count

    call check(gpupipe_destroy(null) == 0, 'gpupipe_destroy(NULL) is 0', '')
    call check(gpupipe_push(null, null, 0) == GPUPIPE_EINVAL, &
      'gpupipe_push(NULL) is EINVAL', '')
    call check(gpupipe_drain(null, -1_c_long) == GPUPIPE_EINVAL, &
      'gpupipe_drain(NULL) is EINVAL', '')
    call check(gpupipe_cancel(null) == GPUPIPE_EINVAL, &
      'gpupipe_cancel(NULL) is EINVAL', '')
    call check(gpupipe_get_info(null, info) == GPUPIPE_EINVAL, &
      'gpupipe_get_info(NULL) is EINVAL', '')
    call check(gpupipe_get_stats(null, stats) == GPUPIPE_EINVAL, &
      'gpupipe_get_stats(NULL) is EINVAL', '')
    call check(gpupipe_trace_begin(null, 1_c_size_t, 0) == GPUPIPE_EINVAL, &
      'gpupipe_trace_begin(NULL) is EINVAL', '')
    call check(gpupipe_trace_end(null, records, count) == GPUPIPE_EINVAL, &
      'gpupipe_trace_end(NULL) is EINVAL', '')
    call check(gpupipe_job_keep(null) == GPUPIPE_EINVAL, &
      'gpupipe_job_keep(NULL) is EINVAL', '')
    call check(gpupipe_release(null, null) == GPUPIPE_EINVAL, &
      'gpupipe_release(NULL) is EINVAL', '')
  end subroutine null_pipeline

  subroutine names()
    character(len=:), allocatable :: s
    integer(c_int) :: ret
    integer(c_int64_t) :: seq

    s = c_string(gpupipe_error_name(GPUPIPE_ETIMEDOUT))
    call check(s == 'GPUPIPE_ETIMEDOUT', 'gpupipe_error_name', s)
    s = c_string(gpupipe_status_name(GPUPIPE_DEVICE_LOST))
    call check(s == 'DEVICE_LOST', 'gpupipe_status_name', s)
    s = c_string(gpupipe_strerror(GPUPIPE_ENOMEM))
    call check(s == 'out of memory', 'gpupipe_strerror', s)
    s = c_string(gpupipe_version())
    call check(gpupipe_version_number() == GPUPIPE_VERSION_MAJOR * 1000000 &
      + GPUPIPE_VERSION_MINOR * 1000 + GPUPIPE_VERSION_PATCH, &
      'gpupipe_version_number is the header''s version', s)
    call check(len(s) >= 5, 'gpupipe_version: ' // s, 'empty')
    ret = gpupipe_push_timed(c_null_ptr, c_null_ptr, 0, 10_c_long, seq)
    call check(ret == GPUPIPE_EINVAL, 'gpupipe_push_timed(NULL) is EINVAL', '')
    ret = gpupipe_push(c_null_ptr, c_null_ptr, 0)
    s = c_string(gpupipe_errmsg())
    call check(ret /= 0 .and. len(s) > 0, 'gpupipe_errmsg after a failed call: ' // s, 'empty')
  end subroutine names

  subroutine devices_and_shaders()
    type(gpupipe_device) :: devs(4)
    integer(c_int) :: ret, count
    type(c_ptr) :: src
    character(len=256) :: dir
    character(len=:), allocatable :: s

    ret = gpupipe_list_devices(devs, 0, count)
    call check(ret == 0 .or. ret == GPUPIPE_ENOTSUP, &
      'gpupipe_list_devices counts', c_string(gpupipe_errmsg()))
    if (ret == 0 .and. count > 0) then
      ret = gpupipe_list_devices(devs, min(count, 4), count)
      call check(ret == 0 .and. devs(1)%index == 0, &
        'gpupipe_list_devices lists device 0', c_string(gpupipe_errmsg()))
    end if
    call check(gpupipe_load_shader('/nonexistent/x.comp' // c_null_char, src) &
      == GPUPIPE_EINVAL, 'gpupipe_load_shader of a missing file is EINVAL', '')
    call get_environment_variable('GPUPIPE_SHADER_DIR', dir)
    ret = gpupipe_load_shader(trim(dir) // '/test_affine.comp' // c_null_char, src)
    s = c_string(gpupipe_errmsg())
    if (ret == 0) then
      s = c_string(src)
      call gpupipe_c_free(src)
    end if
    call check(ret == 0 .and. index(s, '#version 430') == 1, &
      'gpupipe_load_shader reads test_affine.comp', s)
  end subroutine devices_and_shaders

  subroutine pipeline()
    type(gpupipe_config) :: cfg
    type(c_ptr) :: p = c_null_ptr, records, src
    integer(c_size_t) :: count
    character(len=256) :: dir
    integer(c_int) :: ret

    call get_environment_variable('GPUPIPE_SHADER_DIR', dir)
    ret = gpupipe_load_shader(trim(dir) // '/test_affine.comp' // c_null_char, src)
    cfg%shader_source = src
    cfg%in_bytes = 4 * nx
    cfg%out_bytes = 4 * (2 + nx)
    cfg%weights = c_loc(weights)
    cfg%weights_bytes = c_sizeof(weights)
    cfg%prep_cb = c_funloc(prep)
    cfg%done_cb = c_funloc(done)
    ret = gpupipe_create(cfg, p)
    call gpupipe_c_free(src)
    call check(ret == 0, 'gpupipe_create', c_string(gpupipe_errmsg()))
    if (ret /= 0) return
    call info_and_trace(p)
    ret = gpupipe_trace_end(p, records, count)
    call check(ret == 0 .and. count == nitems, 'gpupipe_trace_end: ' // &
      str(int(count, c_int64_t)) // ' records', c_string(gpupipe_errmsg()))
    if (ret == 0) call check_records(records, count)
    call check_done(p)
    ret = gpupipe_destroy(p)
    call check(ret == 0, 'gpupipe_destroy', c_string(gpupipe_errmsg()))
    call check(gpupipe_push(p, c_null_ptr, 0) == GPUPIPE_ESHUTDOWN, &
      'gpupipe_push after destroy is ESHUTDOWN', '')
  end subroutine pipeline

  subroutine info_and_trace(p)
    type(c_ptr), intent(in) :: p
    type(gpupipe_info) :: info
    integer(c_int) :: ret, i

    ret = gpupipe_get_info(p, info)
    call check(ret == 0 .and. info%in_bytes == 4 * nx .and. info%depth == 3 &
      .and. info%renderer(1) /= c_null_char .and. info%slots > 0, &
      'gpupipe_get_info: in_bytes, depth 3, a renderer', '')
    ret = gpupipe_trace_begin(p, int(nitems, c_size_t), 0)
    call check(ret == 0, 'gpupipe_trace_begin', c_string(gpupipe_errmsg()))
    do i = 1, nitems
      ids(i) = i - 1
      ret = gpupipe_push(p, c_loc(ids(i)), 0)
      if (ret /= 0) exit
    end do
    call check(ret == 0, 'gpupipe_push of each item', c_string(gpupipe_errmsg()))
    ret = gpupipe_drain(p, 60000_c_long)
    call check(ret == 0, 'gpupipe_drain', c_string(gpupipe_errmsg()))
  end subroutine info_and_trace

  subroutine check_records(records, count)
    type(c_ptr), intent(in) :: records
    integer(c_size_t), intent(in) :: count
    type(gpupipe_trace_record), pointer :: r(:)
    logical :: ok
    integer :: i

    call c_f_pointer(records, r, [count])
    ok = .true.
    do i = 1, int(count)
      ok = ok .and. r(i)%seq == i - 1 .and. r(i)%push_ns > 0 .and. &
        r(i)%done_end_ns >= r(i)%done_start_ns
      if (i - 1 == failing) then
        ok = ok .and. r(i)%status == GPUPIPE_FAILED
      else
        ok = ok .and. r(i)%status == GPUPIPE_DONE .and. &
          r(i)%dispatch_ns >= r(i)%prep_end_ns
      end if
    end do
    call check(ok, 'trace records: seq, status and times in order', '')
    call gpupipe_c_free(records)
  end subroutine check_records

  subroutine check_done(p)
    type(c_ptr), intent(in) :: p
    type(gpupipe_stats) :: stats
    type(gpupipe_job), pointer :: j
    integer(c_int32_t), pointer :: out(:)
    integer :: i
    logical :: ok

    ok = out_of_order == 0 .and. seen_order == nitems
    do i = 1, nitems
      if (i - 1 == failing) then
        ok = ok .and. seen_status(i) == GPUPIPE_FAILED .and. &
          seen_error(i) == prep_error
      else
        ok = ok .and. seen_status(i) == GPUPIPE_DONE .and. seen_ok(i)
      end if
    end do
    call check(ok, 'done_cb: every output right, in push order, prep_cb''s ' // &
      'failure in job%error', '')
    call check(keep_ret == 0 .and. keep_again == GPUPIPE_EINVAL, &
      'gpupipe_job_keep: 0, then EINVAL', '')
    if (c_associated(kept)) then
      call c_f_pointer(kept, j)
      call c_f_pointer(j%output, out, [2])
      call check(out(1) == 1001, 'the kept output is readable after drain', '')
      call check(gpupipe_release(p, kept) == 0, 'gpupipe_release', '')
      call check(gpupipe_release(p, kept) == GPUPIPE_EINVAL, &
        'a second gpupipe_release is EINVAL', '')
    end if
    call check(gpupipe_cancel(p) == 0, 'gpupipe_cancel with nothing queued', '')
    call check(gpupipe_get_stats(p, stats) == 0 .and. stats%pushed == nitems &
      .and. stats%completed(1 + GPUPIPE_DONE) == nitems - 1 .and. &
      stats%completed(1 + GPUPIPE_FAILED) == 1 .and. stats%in_flight == 0, &
      'gpupipe_get_stats: pushed, completed by status', '')
  end subroutine check_done

end program test_fortran
