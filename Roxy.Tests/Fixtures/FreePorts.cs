using System.Net;
using System.Net.Sockets;

namespace Roxy.Tests.Fixtures;

public static class FreePorts
{
    private static int _next = 20000 + (Environment.ProcessId % 2000) * 10;

    /// <summary>A loopback port nothing listens on now; handed out once per process so hosts never collide.</summary>
    public static int Next()
    {
        while (true)
        {
            var port = Interlocked.Increment(ref _next);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // Taken: try the next one.
            }
        }
    }
}
