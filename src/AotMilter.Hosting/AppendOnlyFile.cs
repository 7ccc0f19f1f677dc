using System.Runtime.InteropServices;
using AotMilter.Server.Interop;
using Microsoft.Win32.SafeHandles;

namespace AotMilter.Hosting;

/// <summary>
/// <c>--log-file PATH</c> as a stream that only appends: the file is opened with O_APPEND, so the kernel puts every
/// write at the end of the file as it is at that moment. A FileStream (even with FileMode.Append) keeps its own
/// position and writes there: once logrotate's copytruncate has emptied the file, it goes on at the old offset and
/// everything before it reads back as NUL bytes. The file is opened as root, before <c>-u</c>, so it is never reached
/// through a symbolic link and must be a regular file with no other name.
/// </summary>
internal sealed class AppendOnlyFile : Stream
{
    private const UnixFileMode Mode0640 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;

    private readonly SafeFileHandle _file;

    private AppendOnlyFile(SafeFileHandle file) => _file = file;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>Opens (or creates, mode 0640) <paramref name="path"/> for appending.</summary>
    /// <exception cref="IOException">The path is a symbolic link, not a regular file, has several names, or cannot be opened.</exception>
    public static AppendOnlyFile Open(string path)
    {
        // O_NONBLOCK: opening a fifo must fail or return at once, not wait for a reader; it is refused just below.
        SafeFileHandle file = Libc.Open(path, Libc.O_WRONLY | Libc.O_APPEND | Libc.O_CREAT | Libc.O_NOFOLLOW | Libc.O_CLOEXEC | Libc.O_NOCTTY | Libc.O_NONBLOCK, (uint)Mode0640);
        if (file.IsInvalid)
        {
            int error = Libc.LastError;
            file.Dispose();
            throw new IOException(error == Libc.ELOOP
                ? $"log file {path} is a symbolic link; refusing to follow it"
                : $"cannot open log file {path}: {Marshal.GetPInvokeErrorMessage(error)}");
        }

        if (!Libc.TryGetStatus(file, out FileStatus status) || status.Type != FileType.Regular || status.Links != 1)
        {
            file.Dispose();
            string what = status.Type == FileType.Regular ? $"a file with {status.Links} names (hard links)" : status.Describe();
            throw new IOException($"log file {path} is {what}; refusing to write to it");
        }

        return new AppendOnlyFile(file);
    }

    public override unsafe void Write(ReadOnlySpan<byte> buffer)
    {
        fixed (byte* start = buffer)
        {
            byte* next = start;
            nint left = buffer.Length;
            bool added = false;
            try
            {
                _file.DangerousAddRef(ref added);
                int fd = (int)_file.DangerousGetHandle();
                while (left > 0)
                {
                    nint written = Libc.Write(fd, next, left);
                    if (written < 0)
                    {
                        if (Libc.LastError == Libc.EINTR)
                        {
                            continue;
                        }

                        throw new IOException($"cannot write to the log file: {Marshal.GetLastPInvokeErrorMessage()}");
                    }

                    next += written;
                    left -= written;
                }
            }
            finally
            {
                if (added)
                {
                    _file.DangerousRelease();
                }
            }
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Write(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    // Every write goes straight to the kernel: there is nothing to flush.
    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _file.Dispose();
        }

        base.Dispose(disposing);
    }
}
