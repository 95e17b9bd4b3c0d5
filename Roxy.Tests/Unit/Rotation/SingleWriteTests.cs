using Roxy.Grains.Rotation;

namespace Roxy.Tests.Unit.Rotation;

public class SingleWriteTests
{
    [Fact]
    public void A_write_that_completes_at_once_leaves_room_for_the_next()
    {
        var writes = new SingleWrite();

        Assert.True(writes.TryStart(() => Task.CompletedTask));
        Assert.Null(writes.Pending);
        Assert.True(writes.TryStart(() => Task.CompletedTask));
    }

    [Fact]
    public async Task Only_one_write_runs_at_a_time()
    {
        var writes = new SingleWrite();
        var slow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        Assert.True(writes.TryStart(() => slow.Task));
        var pending = Assert.IsAssignableFrom<Task>(writes.Pending);
        Assert.False(writes.TryStart(() => Task.CompletedTask));

        slow.SetResult();
        await pending;
        Assert.Null(writes.Pending);
        Assert.True(writes.TryStart(() => Task.CompletedTask));
    }
}
