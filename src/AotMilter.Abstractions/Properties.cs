using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("AotMilter.Server")]
[assembly: InternalsVisibleTo("AotMilter.Testing")]
