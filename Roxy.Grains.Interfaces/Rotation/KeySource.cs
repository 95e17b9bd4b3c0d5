namespace Roxy.Grains.Rotation;

/// <summary>Where a key came from; decides how its secret is stored.</summary>
[GenerateSerializer]
public enum KeySource
{
    /// <summary>Discovered from <c>OPENAI_API_KEY_*</c> and friends; stored as the variable name.</summary>
    Env = 0,

    /// <summary>Named by <c>key_env_var</c> in the YAML; stored as the variable name.</summary>
    Config = 1,

    /// <summary>Added at run time; stored as AES-GCM ciphertext.</summary>
    Chat = 2,
}
