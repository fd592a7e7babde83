! SPDX-License-Identifier: MIT
!
! saxpy: gpupipe from Fortran. Each item is z = a * x + y on n floats: the
! shared "weights" buffer holds a, prep_cb writes the item's x and y
! (computed in Fortran) into its mapped input and n into its parameter
! words, and done_cb checks every z against the same computation in
! Fortran, in push order, counting the items by status.
!
!   gfortran saxpy.f90 -I"$(pkg-config --variable=includedir gpupipe)" \
!       $(pkg-config --libs gpupipe) -o saxpy
!   ./saxpy [items]
!
! gpupipe-fortran(7) explains each step.

! The interface, built by your own compiler (no .mod is installed).
module gpupipe
  use, intrinsic :: iso_c_binding
  implicit none
  include 'gpupipe.f03'
end module gpupipe

module saxpy_items
  use, intrinsic :: iso_c_binding
  use, intrinsic :: iso_fortran_env, only: error_unit
  use gpupipe
  implicit none
  private
  public :: n, a, totals, prep, done, c_string, c_chars

  integer, parameter :: n = 1024              ! floats in x, in y and in z
  real(c_float), parameter :: a = 2.5_c_float

  ! What done_cb counts; it runs on a readback thread, one item at a time.
  type, bind(c) :: totals
    integer(c_long) :: correct = 0, wrong = 0, out_of_order = 0
    integer(c_long) :: next_seq = 0
    integer(c_long) :: by_status(0:4) = 0    ! by enum gpupipe_status
  end type totals

contains

  ! Item k's inputs: never zero, different for every item and element.
  pure function x_of(k, i) result(x)
    integer(c_int), intent(in) :: k
    integer, intent(in) :: i
    real(c_float) :: x

    x = real(mod(31 * k + 7 * i, 1000), c_float) / 10 + 0.5_c_float
  end function x_of

  pure function y_of(k, i) result(y)
    integer(c_int), intent(in) :: k
    integer, intent(in) :: i
    real(c_float) :: y

    y = 1 + real(mod(k + 3 * i, 17), c_float) / 4
  end function y_of

  ! prep_cb, on a prep thread, concurrently with other prep_cbs: recursive
  ! so that its locals live on its own stack. It writes the mapped input
  ! (write-only memory: never read it back) and the parameter words.
  recursive function prep(job, user_data) bind(c) result(ret)
    type(c_ptr), value :: job, user_data
    integer(c_int) :: ret
    type(gpupipe_job), pointer :: j
    integer(c_int), pointer :: k         ! the item: what push was given
    real(c_float), pointer :: xy(:)
    integer(c_int32_t), pointer :: params(:)
    integer :: i

    call c_f_pointer(job, j)
    call c_f_pointer(j%item, k)
    call c_f_pointer(j%input, xy, [2 * n])
    call c_f_pointer(j%params, params, [GPUPIPE_PARAM_WORDS])
    do i = 1, n
      xy(i) = x_of(k, i)
      xy(n + i) = y_of(k, i)
    end do
    params(1) = n
    j%groups(1) = n / 64                 ! local_size_x = 64
    ret = 0                              ! (user_data: unused here)
  end function prep

  ! done_cb, once per item, in push order; job%output is readable only
  ! until it returns.
  recursive subroutine done(job, user_data) bind(c)
    type(c_ptr), value :: job, user_data
    type(gpupipe_job), pointer :: j
    type(totals), pointer :: t
    integer(c_int), pointer :: k
    real(c_float), pointer :: z(:)
    real(c_float) :: want
    integer :: i

    call c_f_pointer(job, j)
    call c_f_pointer(user_data, t)
    call c_f_pointer(j%item, k)
    if (j%seq /= t%next_seq) t%out_of_order = t%out_of_order + 1
    t%next_seq = j%seq + 1
    if (j%status >= 0 .and. j%status <= 4) &
      t%by_status(j%status) = t%by_status(j%status) + 1
    if (j%status /= GPUPIPE_DONE) then
      write (error_unit, '("item ", i0, ": ", a, ": ", a)') k, &
        c_string(gpupipe_status_name(j%status)), c_string(j%message)
      return
    end if
    call c_f_pointer(j%output, z, [n])
    do i = 1, n
      want = a * x_of(k, i) + y_of(k, i)
      if (abs(z(i) - want) > 1e-5_c_float * abs(want)) then
        write (error_unit, '("item ", i0, ": z(", i0, ") = ", g0, &
          &", want ", g0)') k, i, z(i), want
        t%wrong = t%wrong + 1
        return
      end if
    end do
    t%correct = t%correct + 1
  end subroutine done

  ! A C string (gpupipe_strerror, job%message, ...) as a Fortran string.
  function c_string(p) result(s)
    type(c_ptr), intent(in) :: p
    character(len=:), allocatable :: s
    character(kind=c_char), pointer :: c(:)
    integer :: i, len

    if (.not. c_associated(p)) then
      s = '(null)'
      return
    end if
    len = int(gpupipe_c_strlen(p))
    call c_f_pointer(p, c, [len])
    allocate (character(len=len) :: s)
    do i = 1, len
      s(i:i) = c(i)
    end do
  end function c_string

  ! A NUL-terminated char array of a struct (gpupipe_info%renderer, ...).
  function c_chars(c) result(s)
    character(kind=c_char), intent(in) :: c(:)
    character(len=:), allocatable :: s
    integer :: i

    s = ''
    do i = 1, size(c)
      if (c(i) == c_null_char) exit
      s = s // c(i)
    end do
  end function c_chars

end module saxpy_items

program saxpy
  use, intrinsic :: iso_c_binding
  use, intrinsic :: iso_fortran_env, only: error_unit
  use gpupipe
  use saxpy_items
  implicit none
  character(len=*), parameter :: nl = c_new_line
  character(kind=c_char, len=:), allocatable, target :: shader
  real(c_float), target :: weights(1) = [a]
  integer(c_int), allocatable, target :: ids(:)
  type(totals), target :: t
  type(gpupipe_config) :: cfg               ! every field zero: the defaults
  type(gpupipe_info) :: info
  type(gpupipe_stats) :: stats
  type(c_ptr) :: p
  integer :: items, k, ret
  character(len=32) :: arg

  items = 200
  if (command_argument_count() > 0) then
    call get_command_argument(1, arg)
    read (arg, *) items
  end if

  ! The shader: binding 0 the item's input, 1 the weights, 2 its output,
  ! 3 its parameter words. A C string: NUL-terminated.
  shader = '#version 430' // nl // &
    'layout(local_size_x = 64) in;' // nl // &
    'layout(std430, binding = 0) readonly buffer In { float xy[]; };' // nl // &
    'layout(std430, binding = 1) readonly buffer W { float a; };' // nl // &
    'layout(std430, binding = 2) writeonly buffer Out { float z[]; };' // nl // &
    'layout(std430, binding = 3) readonly buffer P { uint n; };' // nl // &
    'void main() {' // nl // &
    '  uint i = gl_GlobalInvocationID.x;' // nl // &
    '  z[i] = a * xy[i] + xy[n + i];' // nl // &
    '}' // nl // c_null_char

  cfg%shader_source = c_loc(shader)
  cfg%in_bytes = 2 * n * c_sizeof(weights(1))
  cfg%out_bytes = n * c_sizeof(weights(1))
  cfg%weights = c_loc(weights)
  cfg%weights_bytes = c_sizeof(weights)
  cfg%prep_cb = c_funloc(prep)
  cfg%done_cb = c_funloc(done)
  cfg%user_data = c_loc(t)

  p = c_null_ptr
  ret = gpupipe_create(cfg, p)
  if (ret /= 0) then
    write (error_unit, '(a, ": ", a, /, a)') 'gpupipe_create', &
      c_string(gpupipe_strerror(ret)), c_string(gpupipe_errmsg())
    stop 1
  end if
  ret = gpupipe_get_info(p, info)
  write (*, '("renderer: ", a, " (", a, "), depth ", i0, ", ", i0, &
    &" prep threads")') c_chars(info%renderer), c_chars(info%version), &
    info%depth, info%prep_threads

  ! Each item is an integer of ours that outlives its done_cb.
  allocate (ids(items))
  do k = 1, items
    ids(k) = k
    ret = gpupipe_push(p, c_loc(ids(k)), 0)   ! blocks while full
    if (ret /= 0) then
      write (error_unit, '(a, ": ", a, /, a)') 'gpupipe_push', &
        c_string(gpupipe_strerror(ret)), c_string(gpupipe_errmsg())
      exit
    end if
  end do
  ! destroy cancels what no prep thread has taken: wait first.
  ret = gpupipe_drain(p, -1_c_long)
  ret = gpupipe_get_stats(p, stats)
  ret = gpupipe_destroy(p)
  deallocate (ids)   ! every done_cb has returned: the items are ours again

  write (*, '("saxpy: ", i0, " items of ", i0, " floats, z = a*x + y, a = ", &
    &f3.1, ": ", i0, " correct, ", i0, " wrong, ", i0, " not done, ", i0, &
    &" out of order")') items, n, a, t%correct, t%wrong, &
    items - t%correct - t%wrong, t%out_of_order
  write (*, '("statuses: DONE ", i0, ", FAILED ", i0, ", CANCELLED ", i0, &
    &", TIMEDOUT ", i0, ", DEVICE_LOST ", i0, "; gpupipe_get_stats: ", i0, &
    &" pushed, ", i0, " DONE, ", i0, " batches")') t%by_status, &
    stats%pushed, stats%completed(1 + GPUPIPE_DONE), stats%batches
  if (t%correct /= items .or. t%out_of_order /= 0 .or. &
      stats%completed(1 + GPUPIPE_DONE) /= items) stop 1
end program saxpy
