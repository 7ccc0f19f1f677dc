using System.Net.Sockets;
using AotMilter.Server.Interop;

namespace AotMilter.Server;

public sealed partial class MilterServer
{
    // Shared by the loops' acceptors: at the descriptor limit they all fail on the same socket, and one line per
    // interval says so for all of them.
    private readonly LogRateLimiter _acceptErrors = new(TimeSpan.FromSeconds(10));

    /// <summary>
    /// The listening socket as seen by one <see cref="EventLoop"/>: accepts whatever is queued when the loop is woken
    /// for it and starts each connection on this same loop.
    /// </summary>
    private sealed class Acceptor(MilterServer server, EventLoop loop, Socket listener) : IEventHandler, ILoopWork
    {
        // Accepting a few at a time keeps a burst of new connections from starving the open ones on this loop.
        private const int AcceptBatch = 16;
        private const int PauseMilliseconds = 100;

        private readonly int _fd = (int)listener.SafeHandle.DangerousGetHandle();
        private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private ulong _token;
        private bool _listening;
        private volatile bool _stopping;

        public Task Started => _started.Task;

        public Task Stopped => _stopped.Task;

        /// <summary>Stops accepting (from any thread); <see cref="Stopped"/> completes once the loop let go of the descriptor.</summary>
        public void Stop()
        {
            _stopping = true;
            loop.Post(this);
        }

        void ILoopWork.Execute()
        {
            if (_stopping)
            {
                if (_listening)
                {
                    loop.Unregister(_fd, _token);
                    _listening = false;
                }

                _started.TrySetResult();
                _stopped.TrySetResult();
                return;
            }

            if (_listening)
            {
                return;
            }

            try
            {
                _token = loop.Register(this, _fd, Libc.EPOLLIN | Libc.EPOLLEXCLUSIVE);
                _listening = true;
                _started.TrySetResult();
            }
            catch (IOException ex)
            {
                _started.TrySetException(ex);
            }
        }

        void IEventHandler.OnEvents(uint events)
        {
            for (int i = 0; i < AcceptBatch && !_stopping; i++)
            {
                int fd = Libc.Accept4(_fd, 0, 0, Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC);
                if (fd >= 0)
                {
                    server.OnAccepted(loop, fd);
                    continue;
                }

                int error = Libc.LastError;
                switch (error)
                {
                    case Libc.EAGAIN:
                        return;
                    case Libc.EINTR:
                    case Libc.ECONNABORTED:
                        continue;
                    case Libc.EMFILE or Libc.ENFILE or Libc.ENOBUFS or Libc.ENOMEM:
                        // Out of descriptors or memory: stop listening on this loop for a moment instead of spinning;
                        // the MTA's connection waits in the backlog meanwhile. (EPOLLEXCLUSIVE cannot be modified,
                        // only removed and added again.)
                        if (server._acceptErrors.ShouldLog(out long suppressed))
                        {
                            Log.AcceptPaused(server._log, Libc.Describe(error), PauseMilliseconds, suppressed, server._acceptErrors.Interval.TotalSeconds);
                        }

                        loop.Unregister(_fd, _token);
                        _listening = false;
                        _ = Task.Delay(PauseMilliseconds).ContinueWith(static (_, state) => ((Acceptor)state!).Resume(), this, TaskScheduler.Default);
                        return;
                    default:
                        if (server._acceptErrors.ShouldLog(out long repeats))
                        {
                            Log.AcceptFailed(server._log, Libc.Describe(error), repeats, server._acceptErrors.Interval.TotalSeconds);
                        }

                        return;
                }
            }
        }

        void IEventHandler.OnTick(long now)
        {
        }

        private void Resume() => loop.Post(this);
    }
}
