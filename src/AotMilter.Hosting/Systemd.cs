using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace AotMilter.Hosting;

/// <summary>
/// The systemd side of the daemon, both halves optional: sockets passed by socket activation (LISTEN_FDS, starting
/// at descriptor 3), and readiness notification (NOTIFY_SOCKET: READY, RELOADING, STOPPING, WATCHDOG).
/// </summary>
internal sealed class Systemd : IDisposable
{
    private const int ListenFdsStart = 3;
    private readonly Socket? _notify;
    private readonly UnixDomainSocketEndPoint? _notifyEndPoint;
    private readonly Timer? _watchdog;

    private Systemd(Socket? notify, UnixDomainSocketEndPoint? endPoint, TimeSpan watchdog)
    {
        _notify = notify;
        _notifyEndPoint = endPoint;
        if (notify is not null && watchdog > TimeSpan.Zero)
        {
            // Half the interval, as sd_watchdog_enabled(3) recommends.
            _watchdog = new Timer(_ => AotMilter.Server.Guard.Run(() => Send("WATCHDOG=1")), null, watchdog / 2, watchdog / 2);
        }
    }

    public static Systemd FromEnvironment()
    {
        string? path = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        Environment.SetEnvironmentVariable("NOTIFY_SOCKET", null);
        if (string.IsNullOrEmpty(path) || (path[0] != '/' && path[0] != '@'))
        {
            return new Systemd(null, null, TimeSpan.Zero);
        }

        // A leading '@' names a socket in the abstract namespace, written with a NUL byte on the wire.
        var endPoint = new UnixDomainSocketEndPoint(path[0] == '@' ? "\0" + path[1..] : path);
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        TimeSpan watchdog = TimeSpan.Zero;
        if (ulong.TryParse(Environment.GetEnvironmentVariable("WATCHDOG_USEC"), NumberStyles.None, CultureInfo.InvariantCulture, out ulong usec)
            && (!int.TryParse(Environment.GetEnvironmentVariable("WATCHDOG_PID"), NumberStyles.None, CultureInfo.InvariantCulture, out int wpid) || wpid == Environment.ProcessId))
        {
            watchdog = TimeSpan.FromMicroseconds(usec);
        }

        return new Systemd(socket, endPoint, watchdog);
    }

    /// <summary>
    /// The listening socket systemd passed, if this process is the one it was meant for; null otherwise. Only the
    /// first is used: one daemon serves one socket.
    /// </summary>
    public static Socket? TakeListenSocket(out int count)
    {
        count = 0;
        string? pid = Environment.GetEnvironmentVariable("LISTEN_PID");
        string? fds = Environment.GetEnvironmentVariable("LISTEN_FDS");
        Environment.SetEnvironmentVariable("LISTEN_PID", null);
        Environment.SetEnvironmentVariable("LISTEN_FDS", null);
        Environment.SetEnvironmentVariable("LISTEN_FDNAMES", null);
        if (pid != Environment.ProcessId.ToString(CultureInfo.InvariantCulture)
            || !int.TryParse(fds, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count < 1)
        {
            count = 0;
            return null;
        }

        return new Socket(new SafeSocketHandle(ListenFdsStart, ownsHandle: true));
    }

    public void Ready() => Send($"READY=1\nMAINPID={Environment.ProcessId}\nSTATUS=listening");

    public void Reloading() => Send($"RELOADING=1\nMONOTONIC_USEC={MonotonicMicroseconds()}");

    public void Reloaded() => Send("READY=1\nSTATUS=listening (settings reloaded)");

    public void Stopping() => Send("STOPPING=1\nSTATUS=stopping");

    public void Dispose()
    {
        _watchdog?.Dispose();
        _notify?.Dispose();
    }

    private void Send(string message)
    {
        if (_notify is null)
        {
            return;
        }

        try
        {
            _notify.SendTo(Encoding.UTF8.GetBytes(message), _notifyEndPoint!);
        }
        catch (SocketException)
        {
            // The service manager went away; there is nobody left to tell.
        }
    }

    // RELOADING=1 must carry CLOCK_MONOTONIC in microseconds; Environment.TickCount64 counts the same clock in ms.
    private static long MonotonicMicroseconds() => Environment.TickCount64 * 1000;
}
