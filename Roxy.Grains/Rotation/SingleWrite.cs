namespace Roxy.Grains.Rotation;

/// <summary>
/// At most one background write at a time, for a grain whose timer and requests both start writes. Runs on the
/// grain's scheduler, so it needs no locking.
/// </summary>
internal sealed class SingleWrite
{
    /// <summary>The write in flight, or null.</summary>
    public Task? Pending { get; private set; }

    /// <summary>Starts <paramref name="write"/> unless one is in flight; false when one is.</summary>
    public bool TryStart(Func<Task> write)
    {
        if (Pending is not null)
        {
            return false;
        }

        var running = RunAsync(write);
        // A write that finished synchronously has already run its finally: kept, it would block every later write.
        Pending = running.IsCompleted ? null : running;
        return true;
    }

    private async Task RunAsync(Func<Task> write)
    {
        try
        {
            await write();
        }
        finally
        {
            Pending = null;
        }
    }
}
