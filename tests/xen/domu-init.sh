#!/bin/busybox sh
# /init of the harness's guests: bring up the netfront and blkfront devices, prove both work, then
# keep the disk and the console busy so the backends in dom0 have something to serve.
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
echo "GUEST-BOOT-OK cpus=$(nproc)"
# What the kernel runs when it sees control/shutdown = poweroff (orderly_poweroff): without it a
# request from `xl shutdown` is seen and ignored.
mkdir -p /sbin
printf '#!/bin/busybox sh\necho GUEST-SHUTDOWN-REQUEST > /dev/console\nexec /bin/busybox poweroff -f\n' > /sbin/poweroff
chmod +x /sbin/poweroff
ip_addr=$(sed -n 's/.*harness_ip=\([0-9.]*\).*/\1/p' /proc/cmdline)
peer=$(sed -n 's/.*harness_peer=\([0-9.]*\).*/\1/p' /proc/cmdline)
insmod /lib/modules/xen-netfront.ko; insmod /lib/modules/xen-blkfront.ko
i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 90 ]; do sleep 1; i=$((i+1)); done
ifconfig lo up
ifconfig eth0 "$ip_addr" netmask 255.255.255.0 up && echo "GUEST-NET-UP $ip_addr after ${i}s"
i=0; while [ ! -b /dev/xvda ] && [ $i -lt 90 ]; do sleep 1; i=$((i+1)); done
echo "pvmkit-harness-disk-$ip_addr" | dd of=/dev/xvda conv=notrunc,fsync 2>/dev/null && echo "GUEST-BLK-WRITE-OK after ${i}s"
ping -c 2 -W 5 "$peer" >/dev/null 2>&1 && echo "GUEST-PING-OK"
n=0
while true; do
  # A vif detached and attached again comes back as a new, unconfigured device.
  for d in /sys/class/net/eth*; do
    [ -e "$d" ] && ! grep -q up "$d/operstate" && ifconfig "${d##*/}" "$ip_addr" netmask 255.255.255.0 up 2>/dev/null
  done
  n=$((n+1)); echo "TICK $n"
  echo "tick $n" | dd of=/dev/xvda bs=512 seek=8 conv=notrunc,fsync 2>/dev/null
  sleep 3
done
